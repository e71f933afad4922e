/**
 * What the shared store logic needs from a document database: MongoDB-style filters and update operators
 * on one collection, each call atomic on one document. MongoDB speaks this natively, SQLite through its driver;
 * the differences live in their driver files, as in Kysely's dialects.
 */
import type { BlobFiles } from './blob-files.js';

export type StoredDocument = Record<string, unknown> & { _id: string };
export type Filter = Record<string, unknown>;
export type Update = Record<string, unknown>;
export type SortOrder = Record<string, 1 | -1>;

export interface DocumentCollection {
  /** Throws MaestroError CONFLICT when a unique index is violated; nothing is written then. */
  insertOne(doc: StoredDocument): Promise<void>;
  /**
   * Inserts several documents in one write, in order. Throws CONFLICT on a unique violation: SQLite then writes
   * none of them; MongoDB keeps the ones before the violating document (a repeat recognises them by _id).
   */
  insertMany(docs: StoredDocument[]): Promise<void>;
  /** Inserts in order; documents whose unique keys exist already are skipped. */
  insertManyIgnoringDuplicates(docs: StoredDocument[]): Promise<void>;
  findOne(filter: Filter, sort?: SortOrder): Promise<StoredDocument | undefined>;
  find(filter: Filter, options?: { sort?: SortOrder; limit?: number }): Promise<StoredDocument[]>;
  /** Updates the first match (in sort order) atomically and returns it as updated, or undefined when none matched. */
  findOneAndUpdate(filter: Filter, update: Update, sort?: SortOrder): Promise<StoredDocument | undefined>;
  /** Updates one match; true when a document matched. */
  updateOne(filter: Filter, update: Update): Promise<boolean>;
  deleteMany(filter: Filter): Promise<number>;
}

export interface IndexSpec {
  collection: string;
  name: string;
  keys: Record<string, 1 | -1>;
  unique?: boolean;
  sparse?: boolean;
}

export interface DocumentDriver {
  readonly backend: string;
  /**
   * False when the server applies a single-document update as read-then-write without isolation
   * (FerretDB 1.x): the store then gates every lease claim with a unique insert, which that server does atomically.
   */
  readonly atomicUpdates: boolean;
  collection(name: string): DocumentCollection;
  /**
   * Whether a document satisfies a filter, decided in this process with the database's query semantics ($in,
   * $lt, $exists, $or, dotted paths, dates). The store needs it where updates are not isolated: it reads a
   * document, checks the guard here, then writes it by _id.
   */
  matches(doc: StoredDocument, filter: Filter): boolean;
  /** The adapter's blob area (the store file's blob tables, GridFS). */
  blobFiles(): BlobFiles;
  ping(): Promise<void>;
  close(): Promise<void>;
}
