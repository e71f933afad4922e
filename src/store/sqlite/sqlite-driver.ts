import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
import { Collection } from '../stored-form.js';
import { SqliteBlobFiles } from './sqlite-blobs.js';
import type { SqliteRunStoreConfig } from './sqlite-config.js';
import { waitingOutLocks } from './sqlite-busy.js';
import { translateSqliteError } from './sqlite-errors.js';
import { decodeDocument, encodeDocument } from './sqlite-json.js';
import { filterToSql, sortToSql } from './sqlite-query.js';
import { ensureSchema } from './sqlite-schema.js';
import { applyUpdate } from './sqlite-update.js';
import { updateToSql } from './sqlite-update-sql.js';

// CommonJS: under NodeNext the default import is module.exports, whose `default` is the sift function.
const sift = siftModule.default;
const STATEMENT_CACHE_SIZE = 200;

interface Row {
  id: string;
  doc: string;
}

/** MongoDB's query semantics decided in this process, for what a filter's SQL leaves open. */
function matches(doc: StoredDocument, filter: Filter): boolean {
  return sift(filter)(doc);
}

function toDocument(row: Row): StoredDocument {
  return { _id: row.id, ...decodeDocument(row.doc) };
}

function rowOf(doc: StoredDocument): [string, string] {
  const { _id, ...fields } = doc;
  return [_id, encodeDocument(fields)];
}

/** Prepared statements by SQL text (queries differ in shape, e.g. the length of an $in), the oldest dropped past a bound. */
class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/**
 * One collection as one table. Every write is one short BEGIN IMMEDIATE transaction (read the row, check the filter,
 * write it back), which SQLite isolates across connections and processes: updates are atomic like MongoDB's.
 */
class SqliteCollection implements DocumentCollection {
  /** One transaction wrapper, made once: better-sqlite3 builds a new function for each db.transaction(). */
  private readonly immediate: <T>(work: () => T) => T;

  constructor(
    private readonly db: Database.Database,
    private readonly table: string,
    private readonly statements: StatementCache,
    private readonly translate: (error: unknown) => unknown,
    private readonly busyTimeoutMs: number,
  ) {
    const transaction = db.transaction((work: () => unknown) => work());
    this.immediate = <T>(work: () => T) => transaction.immediate(work) as T;
  }

  insertOne(doc: StoredDocument): Promise<void> {
    return this.run(() => {
      this.statements.get(`INSERT INTO ${this.table} (id, doc) VALUES (?, ?)`).run(...rowOf(doc));
    });
  }

  /** All or none: a unique violation rolls the whole batch back. */
  insertMany(docs: StoredDocument[]): Promise<void> {
    return this.run(() => this.insertAll(docs, 'INSERT'));
  }

  insertManyIgnoringDuplicates(docs: StoredDocument[]): Promise<void> {
    return this.run(() => this.insertAll(docs, 'INSERT OR IGNORE'));
  }

  findOne(filter: Filter, sort?: SortOrder): Promise<StoredDocument | undefined> {
    return this.run(() => this.select(filter, sort, 1)[0]);
  }

  find(filter: Filter, options: { sort?: SortOrder; limit?: number } = {}): Promise<StoredDocument[]> {
    return this.run(() => this.select(filter, options.sort, options.limit));
  }

  findOneAndUpdate(filter: Filter, update: Update, sort?: SortOrder): Promise<StoredDocument | undefined> {
    return this.run(() => this.updateFirst(filter, update, sort));
  }

  updateOne(filter: Filter, update: Update): Promise<boolean> {
    return this.run(() => this.updateFirst(filter, update) !== undefined);
  }

  deleteMany(filter: Filter): Promise<number> {
    return this.run(() =>
      this.immediate(() => {
        const condition = filterToSql(filter);
        if (condition.exact)
          return this.statements.get(`DELETE FROM ${this.table} WHERE ${condition.sql}`).run(...condition.params)
            .changes;
        const remove = this.statements.get(`DELETE FROM ${this.table} WHERE id = ?`);
        let removed = 0;
        for (const doc of this.select(filter)) removed += remove.run(doc._id).changes;
        return removed;
      }),
    );
  }

  private insertAll(docs: StoredDocument[], verb: 'INSERT' | 'INSERT OR IGNORE'): void {
    if (docs.length === 0) return;
    const insert = this.statements.get(`${verb} INTO ${this.table} (id, doc) VALUES (?, ?)`);
    this.immediate(() => {
      for (const doc of docs) insert.run(...rowOf(doc));
    });
  }

  private updateFirst(filter: Filter, update: Update, sort?: SortOrder): StoredDocument | undefined {
    return this.updateInSql(filter, update, sort) ?? this.updateHere(filter, update, sort);
  }

  /**
   * The update as one UPDATE … RETURNING where SQL can say both the filter and the update. Undefined when it cannot
   * or changed nothing: the filter matched nothing (the read that follows finds nothing either) or the update's
   * condition failed (the read that follows applies it here, which reports why).
   */
  private updateInSql(filter: Filter, update: Update, sort?: SortOrder): StoredDocument | undefined {
    const condition = filterToSql(filter);
    const change = condition.exact ? updateToSql(update) : undefined;
    if (!change) return undefined;
    const first = `SELECT id FROM ${this.table} WHERE ${condition.sql}${sortToSql(sort)} LIMIT 1`;
    const sql = `UPDATE ${this.table} SET doc = ${change.document} WHERE id = (${first}) AND ${change.applies} RETURNING id, doc`;
    // all(), not get(): get() returns the row after the first step and never sees the commit fail (a rollback
    // journal can refuse it busy), while all() runs the statement to its end and throws what stopped it.
    const [row] = this.statements.get(sql).all(...change.params, ...condition.params, ...change.appliesParams) as Row[];
    return row ? toDocument(row) : undefined;
  }

  private updateHere(filter: Filter, update: Update, sort?: SortOrder): StoredDocument | undefined {
    return this.immediate(() => {
      const [current] = this.select(filter, sort, 1);
      if (!current) return undefined;
      const updated = applyUpdate(current, update) as StoredDocument;
      this.statements.get(`UPDATE ${this.table} SET doc = ? WHERE id = ?`).run(rowOf(updated)[1], current._id);
      return updated;
    });
  }

  /** Matching documents in sort order: all in SQL where the filter translates exactly, else narrowed here. */
  private select(filter: Filter, sort?: SortOrder, limit?: number): StoredDocument[] {
    const condition = filterToSql(filter);
    const base = `SELECT id, doc FROM ${this.table} WHERE ${condition.sql}${sortToSql(sort)}`;
    if (condition.exact) {
      const sql = limit === undefined ? base : `${base} LIMIT ${Math.max(0, Math.floor(limit))}`;
      return (this.statements.get(sql).all(...condition.params) as Row[]).map(toDocument);
    }
    const found: StoredDocument[] = [];
    if (limit === 0) return found;
    for (const row of this.statements.get(base).iterate(...condition.params) as IterableIterator<Row>) {
      const doc = toDocument(row);
      if (!matches(doc, filter)) continue;
      found.push(doc);
      if (found.length === limit) break;
    }
    return found;
  }

  /** better-sqlite3 is synchronous: each call runs to its end before another starts in this process. */
  private async run<T>(operation: () => T): Promise<T> {
    try {
      return await waitingOutLocks(operation, this.busyTimeoutMs);
    } catch (error) {
      throw this.translate(error);
    }
  }
}

/** The embedded store on SQLite: one database file (or memory), shared by any number of processes through WAL. */
export class SqliteDriver implements DocumentDriver {
  readonly backend: string;
  readonly atomicUpdates = true;
  private readonly collections = new Map<string, SqliteCollection>();

  private readonly busyTimeoutMs: number;

  private constructor(
    private readonly db: Database.Database,
    private readonly translate: (error: unknown) => unknown,
    config: SqliteRunStoreConfig,
  ) {
    this.busyTimeoutMs = config.busyTimeoutMs;
    this.backend = config.inMemory ? 'sqlite (memory)' : `sqlite (${config.file}, synchronous=${config.synchronous})`;
    const statements = new StatementCache(db);
    for (const name of Object.values(Collection))
      this.collections.set(name, new SqliteCollection(db, name, statements, translate, config.busyTimeoutMs));
  }

  static async open(config: SqliteRunStoreConfig): Promise<SqliteDriver> {
    const where = config.inMemory ? 'in memory' : config.file;
    const translate = (error: unknown) => translateSqliteError(error, where, config.busyTimeoutMs);
    let db: Database.Database | undefined;
    try {
      if (!config.inMemory) mkdirSync(dirname(config.file), { recursive: true });
      // Waits for locks are this driver's own (sqlite-busy.ts), so SQLite's busy timeout is 0.
      const opened = new Database(config.inMemory ? ':memory:' : config.file, { timeout: 0 });
      db = opened;
      // The first statement reads the file's header: a file that is not a database (or was cut short) fails here.
      if (!config.inMemory) await waitingOutLocks(() => opened.pragma('journal_mode = WAL'), config.busyTimeoutMs);
      opened.pragma(`synchronous = ${config.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      await waitingOutLocks(() => ensureSchema(opened), config.busyTimeoutMs);
      return new SqliteDriver(db, translate, config);
    } catch (error) {
      db?.close();
      throw translate(error);
    }
  }

  matches(doc: StoredDocument, filter: Filter): boolean {
    return matches(doc, filter);
  }

  blobFiles(): BlobFiles {
    return new SqliteBlobFiles(this.db, this.translate, this.busyTimeoutMs);
  }

  collection(name: string): DocumentCollection {
    const collection = this.collections.get(name);
    if (!collection) throw new Error(`unknown collection ${name}`);
    return collection;
  }

  /** Documents a collection holds (maestro store import). */
  async count(collection: string): Promise<number> {
    const statement = this.db.prepare(`SELECT count(*) AS n FROM ${this.table(collection)}`);
    try {
      return await waitingOutLocks(() => (statement.get() as { n: number }).n, this.busyTimeoutMs);
    } catch (error) {
      throw this.translate(error);
    }
  }

  /**
   * Inserts documents of several collections in one write transaction, skipping those whose _id or unique key is
   * there already, then calls `verify` with how many of each collection's _ids the tables hold: it throws to roll
   * all of it back (maestro store import, all or nothing).
   */
  async insertAll(
    documents: ReadonlyMap<string, StoredDocument[]>,
    verify: (present: ReadonlyMap<string, number>) => void,
  ): Promise<void> {
    const importAll = this.db.transaction(() => {
      const present = new Map<string, number>();
      for (const [collection, docs] of documents) {
        const table = this.table(collection);
        const insert = this.db.prepare(`INSERT OR IGNORE INTO ${table} (id, doc) VALUES (?, ?)`);
        for (const doc of docs) insert.run(...rowOf(doc));
        const ids = JSON.stringify(docs.map((doc) => doc._id));
        const count = this.db.prepare(
          `SELECT count(*) AS n FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`,
        );
        present.set(collection, (count.get(ids) as { n: number }).n);
      }
      verify(present);
    });
    try {
      await waitingOutLocks(() => importAll.immediate(), this.busyTimeoutMs);
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** A collection's table name, checked: names are put into SQL text. */
  private table(collection: string): string {
    if (!this.collections.has(collection)) throw new Error(`unknown collection ${collection}`);
    return collection;
  }

  async ping(): Promise<void> {
    try {
      await waitingOutLocks(
        () => this.db.prepare('SELECT count(*) FROM runs WHERE id = ?').get(''),
        this.busyTimeoutMs,
      );
    } catch (error) {
      throw this.translate(error);
    }
  }

  async close(): Promise<void> {
    // The last connection to close checkpoints the WAL into the file and removes it.
    if (this.db.open) this.db.close();
  }
}
