import { createRequire } from 'node:module';
import type { Filter, StoredDocument } from './document-collection.js';

// NeDB's matcher implements MongoDB query semantics ($in, $lt, $exists, $or, dotted paths, dates) in memory.
const { match } = createRequire(import.meta.url)('@seald-io/nedb/lib/model.js') as {
  match: (doc: object, query: object) => boolean;
};

/** Whether a stored document satisfies a filter, decided in this process. */
export function matchesFilter(doc: StoredDocument, filter: Filter): boolean {
  return match(doc, filter);
}
