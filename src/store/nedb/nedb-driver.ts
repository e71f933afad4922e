import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as NedbModule from '@seald-io/nedb';
import { MaestroError } from '../../domain/errors.js';
import type {
  DocumentCollection,
  DocumentDriver,
  Filter,
  SortOrder,
  StoredDocument,
  Update,
} from '../document-collection.js';
import { storeIndexes } from '../indexes.js';
import { Collection } from '../stored-form.js';
import type { NedbRunStoreConfig } from './nedb-config.js';
import { NedbDirectoryLock } from './nedb-lock.js';

// @seald-io/nedb is CommonJS whose typings declare an ES default export; require gives the class itself.
export const Datastore = createRequire(import.meta.url)('@seald-io/nedb') as typeof NedbModule.default.default;
export type NedbStore = InstanceType<typeof Datastore<StoredDocument>>;
// The matcher NeDB runs its own queries with: the same semantics as the datastore, decided in this process.
export const { match, deserialize } = createRequire(import.meta.url)('@seald-io/nedb/lib/model.js') as {
  match: (doc: object, query: object) => boolean;
  /** One line of a datafile as NeDB's loader reads it (dates and all). */
  deserialize: (line: string) => Record<string, unknown>;
};

function isUniqueViolation(error: unknown): boolean {
  return (error as { errorType?: string } | null)?.errorType === 'uniqueViolated';
}

/** NeDB's unique-index error becomes the same CONFLICT the MongoDB driver's E11000 becomes. */
function translate(error: unknown): unknown {
  if (isUniqueViolation(error))
    return new MaestroError('CONFLICT', `duplicate key: ${(error as Error).message}`, { cause: error });
  return error;
}

export class NedbCollection implements DocumentCollection {
  constructor(private readonly store: NedbStore) {}

  async insertOne(doc: StoredDocument): Promise<void> {
    try {
      await this.store.insertAsync(doc);
    } catch (error) {
      throw translate(error);
    }
  }

  async insertMany(docs: StoredDocument[]): Promise<void> {
    try {
      // An array is one NeDB operation: rolled back whole on a violation, one append to the datafile otherwise.
      await this.store.insertAsync(docs);
    } catch (error) {
      throw translate(error);
    }
  }

  async insertManyIgnoringDuplicates(docs: StoredDocument[]): Promise<void> {
    // NeDB rolls a whole array back on one violation, so insert one by one.
    for (const doc of docs) {
      try {
        await this.store.insertAsync(doc);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
  }

  async findOne(filter: Filter, sort?: SortOrder): Promise<StoredDocument | undefined> {
    if (!sort) {
      // NeDB resolves null when nothing matches, whatever its declared type says.
      const found: unknown = await this.store.findOneAsync(filter);
      return (found as StoredDocument | null) ?? undefined;
    }
    const [first] = await this.store.findAsync(filter).sort(sort).limit(1);
    return first;
  }

  async find(filter: Filter, options: { sort?: SortOrder; limit?: number } = {}): Promise<StoredDocument[]> {
    let cursor = this.store.findAsync(filter);
    if (options.sort) cursor = cursor.sort(options.sort);
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    return cursor;
  }

  async findOneAndUpdate(filter: Filter, update: Update, sort?: SortOrder): Promise<StoredDocument | undefined> {
    if (!sort) return this.updateFirst(filter, update);
    // NeDB's update takes no sort: pick the first in order, then update it only if it still matches.
    for (let tries = 0; tries < 10; tries += 1) {
      const candidate = await this.findOne(filter, sort);
      if (!candidate) return undefined;
      const updated = await this.updateFirst({ $and: [{ _id: candidate._id }, filter] }, update);
      if (updated) return updated;
    }
    return undefined;
  }

  async updateOne(filter: Filter, update: Update): Promise<boolean> {
    try {
      const { numAffected } = await this.store.updateAsync(filter, update, { multi: false });
      return numAffected > 0;
    } catch (error) {
      throw translate(error);
    }
  }

  async deleteMany(filter: Filter): Promise<number> {
    return this.store.removeAsync(filter, { multi: true });
  }

  /** One NeDB update is atomic within the process: its executor runs one operation at a time. */
  private async updateFirst(filter: Filter, update: Update): Promise<StoredDocument | undefined> {
    try {
      const result = await this.store.updateAsync(filter, update, { multi: false, returnUpdatedDocs: true });
      return result.numAffected > 0 ? (result.affectedDocuments ?? undefined) : undefined;
    } catch (error) {
      throw translate(error);
    }
  }
}

/** The embedded store: one NeDB datastore per collection, in files under a directory or in memory. */
export class NedbDriver implements DocumentDriver {
  readonly backend: string;
  readonly atomicUpdates = true;

  private constructor(
    private readonly stores: Map<string, NedbStore>,
    private readonly lock: NedbDirectoryLock | undefined,
    config: NedbRunStoreConfig,
  ) {
    this.backend = config.inMemory ? 'nedb (memory)' : `nedb (${config.directory})`;
  }

  matches(doc: StoredDocument, filter: Filter): boolean {
    return match(doc, filter);
  }

  static async open(config: NedbRunStoreConfig): Promise<NedbDriver> {
    const lock = config.inMemory ? undefined : NedbDirectoryLock.acquire(config.directory);
    const stores = new Map<string, NedbStore>();
    try {
      for (const name of Object.values(Collection)) {
        const store = new Datastore<StoredDocument>(
          config.inMemory ? { inMemoryOnly: true } : { filename: join(config.directory, `${name}.db`) },
        );
        // Loading also compacts the file: a line cut short by a killed process is dropped here.
        await store.loadDatabaseAsync().catch((error: unknown) => {
          throw new MaestroError(
            'STORE_CORRUPT',
            `the embedded store file ${name}.db in ${config.directory} cannot be read: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`,
            {
              details: { directory: config.directory, collection: name },
            },
          );
        });
        if (!config.inMemory) store.setAutocompactionInterval(config.autocompactionIntervalMs);
        stores.set(name, store);
      }
      for (const [name, store] of stores) await ensureIndexes(name, store);
      return new NedbDriver(stores, lock, config);
    } catch (error) {
      // Interval timers of the files already loaded would keep the process alive after the error is reported.
      for (const store of stores.values()) store.stopAutocompaction();
      lock?.release();
      throw error;
    }
  }

  collection(name: string): DocumentCollection {
    const store = this.stores.get(name);
    if (!store) throw new Error(`unknown collection ${name}`);
    return new NedbCollection(store);
  }

  async ping(): Promise<void> {
    // In-process: nothing to reach.
  }

  async close(): Promise<void> {
    for (const store of this.stores.values()) {
      store.stopAutocompaction();
      if (this.lock) await store.compactDatafileAsync();
    }
    this.lock?.release();
  }
}

/** The store's indexes on one collection's NeDB datastore. */
export async function ensureIndexes(collection: string, store: NedbStore): Promise<void> {
  for (const index of storeIndexes.filter((i) => i.collection === collection)) {
    await store.ensureIndexAsync({
      fieldName: Object.keys(index.keys),
      unique: index.unique ?? false,
      sparse: index.sparse ?? false,
    });
  }
}
