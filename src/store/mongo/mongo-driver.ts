import { type Collection as MongoCollection, type Db, MongoClient } from 'mongodb';
import siftModule from 'sift';
import type {
  DocumentCollection,
  DocumentDriver,
  Filter,
  SortOrder,
  StoredDocument,
  Update,
} from '../document-collection.js';
import type { BlobFiles } from '../blob-files.js';
import { GridFsBlobFiles } from './gridfs-blobs.js';
import type { MongoRunStoreConfig } from './mongo-config.js';
import { isOnlyDuplicateKeys, translateMongoError } from './mongo-errors.js';

// CommonJS: under NodeNext the default import is module.exports, whose `default` is the sift function.
const sift = siftModule.default;

async function translated<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translateMongoError(error);
  }
}

class MongoDocumentCollection implements DocumentCollection {
  constructor(private readonly collection: MongoCollection<StoredDocument>) {}

  insertOne(doc: StoredDocument): Promise<void> {
    return translated(async () => {
      await this.collection.insertOne(doc);
    });
  }

  insertMany(docs: StoredDocument[]): Promise<void> {
    return translated(async () => {
      await this.collection.insertMany(docs, { ordered: true });
    });
  }

  insertManyIgnoringDuplicates(docs: StoredDocument[]): Promise<void> {
    if (docs.length === 0) return Promise.resolve();
    return translated(async () => {
      try {
        await this.collection.insertMany(docs, { ordered: false });
      } catch (error) {
        if (!isOnlyDuplicateKeys(error)) throw error;
      }
    });
  }

  findOne(filter: Filter, sort?: SortOrder): Promise<StoredDocument | undefined> {
    return translated(async () => (await this.collection.findOne(filter, sort ? { sort } : {})) ?? undefined);
  }

  find(filter: Filter, options: { sort?: SortOrder; limit?: number } = {}): Promise<StoredDocument[]> {
    return translated(async () => {
      let cursor = this.collection.find(filter);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.limit !== undefined) cursor = cursor.limit(options.limit);
      return cursor.toArray();
    });
  }

  findOneAndUpdate(filter: Filter, update: Update, sort?: SortOrder): Promise<StoredDocument | undefined> {
    return translated(async () => {
      const updated = await this.collection.findOneAndUpdate(filter, update, {
        returnDocument: 'after',
        ...(sort ? { sort } : {}),
      });
      return updated ?? undefined;
    });
  }

  updateOne(filter: Filter, update: Update): Promise<boolean> {
    return translated(async () => (await this.collection.updateOne(filter, update)).matchedCount > 0);
  }

  deleteMany(filter: Filter): Promise<number> {
    return translated(async () => (await this.collection.deleteMany(filter)).deletedCount);
  }
}

/** The production store: the official driver, with explicit write concern and read preference. */
export class MongoDriver implements DocumentDriver {
  private constructor(
    readonly backend: string,
    readonly atomicUpdates: boolean,
    private readonly client: MongoClient,
    private readonly db: Db,
  ) {}

  static async open(config: MongoRunStoreConfig): Promise<MongoDriver> {
    const client = new MongoClient(config.url, {
      writeConcern: {
        w: config.writeConcern.w,
        journal: config.writeConcern.journal,
        wtimeoutMS: config.writeConcern.wtimeoutMS,
      },
      readPreference: config.readPreference,
      serverSelectionTimeoutMS: config.serverSelectionTimeoutMS,
      socketTimeoutMS: config.socketTimeoutMS,
    });
    await translated(() => client.connect());
    const db = client.db(config.database);
    const info = await translated(() => db.admin().command({ buildInfo: 1 }));
    // FerretDB answers buildInfo with its own version beside the MongoDB version it emulates.
    const flavour = info.ferretdbVersion
      ? `FerretDB ${String(info.ferretdbVersion)}`
      : `MongoDB ${String(info.version)}`;
    // FerretDB 1.x runs findAndModify and update as a query followed by a write, with nothing in between held.
    return new MongoDriver(`mongodb (${flavour}, db ${config.database})`, !info.ferretdbVersion, client, db);
  }

  /** sift implements MongoDB's query language in JavaScript; the driver itself has no in-process matcher. */
  matches(doc: StoredDocument, filter: Filter): boolean {
    return sift(filter)(doc);
  }

  collection(name: string): DocumentCollection {
    return new MongoDocumentCollection(this.db.collection<StoredDocument>(name));
  }

  blobFiles(): BlobFiles {
    return new GridFsBlobFiles(this.db);
  }

  database(): Db {
    return this.db;
  }

  mongoClient(): MongoClient {
    return this.client;
  }

  ping(): Promise<void> {
    return translated(async () => {
      await this.db.command({ ping: 1 });
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
