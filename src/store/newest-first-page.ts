import { decodeCursor, toPage } from './cursor.js';
import type { DocumentCollection, Filter, StoredDocument } from './document-collection.js';
import type { Page, PageRequest } from './port.js';
import { fromStored, type Collection } from './stored-form.js';

/** Newest first by created_at then _id, resuming strictly after the cursor position. */
export async function pageNewestFirst<T extends { created_at: string }>(
  collection: DocumentCollection,
  name: Collection,
  query: Filter,
  page: PageRequest,
): Promise<Page<T>> {
  const clauses: Filter[] = [query];
  if (page.cursor !== undefined) {
    const position = decodeCursor(page.cursor);
    const createdAt = new Date(position.created_at);
    clauses.push({ $or: [{ created_at: { $lt: createdAt } }, { created_at: createdAt, _id: { $lt: position.id } }] });
  }
  const fetched = await collection.find(clauses.length === 1 ? query : { $and: clauses }, {
    sort: { created_at: -1, _id: -1 },
    limit: page.limit + 1,
  });
  const page1 = toPage(fetched, page.limit, (doc: StoredDocument) => ({
    created_at: (doc.created_at as Date).toISOString(),
    id: doc._id,
  }));
  return { ...page1, items: page1.items.map((doc) => fromStored<T>(name, doc)) };
}
