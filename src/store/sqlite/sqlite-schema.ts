import type Database from 'better-sqlite3';
import { storeIndexes } from '../indexes.js';
import { Collection } from '../stored-form.js';
import { blobTableNames, blobTableStatements } from './sqlite-blobs.js';
import { fieldSql } from './sqlite-query.js';

/**
 * The store's tables (one per collection: the `_id` as primary key, the document as JSON text) and the indexes of
 * indexes.ts as expression indexes. A non-unique index ends with `id`, so a sort that breaks ties by `_id` is read
 * in index order (newest-first pages, claims oldest first) without sorting.
 */
export function schemaStatements(): string[] {
  const statements = Object.values(Collection).map(
    (name) => `CREATE TABLE IF NOT EXISTS ${name} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL) STRICT`,
  );
  for (const index of storeIndexes) {
    const keys = Object.entries(index.keys);
    const terms = keys.map(([path, direction]) => `${fieldSql(path)!}${direction === -1 ? ' DESC' : ''}`);
    if (!index.unique) terms.push(`id${keys.at(-1)?.[1] === -1 ? ' DESC' : ''}`);
    statements.push(
      `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${index.name} ON ${index.collection} (${terms.join(', ')})`,
    );
  }
  statements.push(...blobTableStatements);
  return statements;
}

/** The table size the planner's fixed statistics describe: a store with a long history. */
const PLANNED_ROWS = 100_000;
/** Documents per value of a field in such a store (SQLite assumes 10 for a field it knows nothing of). */
const rowsPerValue: Record<string, number> = {
  owner: PLANNED_ROWS,
  paused: PLANNED_ROWS / 2,
  status: PLANNED_ROWS / 4,
  plan_id: 1_000,
  'concurrency.group': 100,
  name: 10,
  run_id: 10,
  parent_run_id: 10,
  root_run_id: 2,
};

/**
 * sqlite_stat1 rows for the indexes, fixed rather than measured: without statistics SQLite takes any indexed
 * equality to find about 10 rows, so it would read a group's runs through the owner's index (every run of a
 * one-user store) to save sorting a few. Fixed numbers keep the plans the same on every store, new or large
 * (SQLite documents this use of the stat tables; ANALYZE is never run by the store).
 */
function plannerStatistics(): Array<[string, string, string]> {
  return storeIndexes.map((index) => {
    const estimates = [PLANNED_ROWS];
    for (const path of Object.keys(index.keys)) {
      const prefix = estimates.at(-1)!;
      estimates.push(Math.max(1, Math.round((prefix * (rowsPerValue[path] ?? 1)) / PLANNED_ROWS)));
    }
    if (!index.unique) estimates.push(1);
    return [index.collection, index.name, estimates.join(' ')];
  });
}

/** The names schemaStatements creates. */
function schemaNames(): string[] {
  return [...Object.values(Collection), ...storeIndexes.map((index) => index.name), ...blobTableNames];
}

/**
 * Creates the tables and indexes a store lacks (a new file, or one from an older version), under the write lock:
 * other processes may be opening it too. Reading the names is what an open costs when everything is there.
 */
export function ensureSchema(db: Database.Database): void {
  const missing = () => {
    const present = new Set(
      (
        db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')").all() as Array<{ name: string }>
      ).map((row) => row.name),
    );
    return schemaNames().some((name) => !present.has(name));
  };
  if (!missing()) return;
  db.transaction(() => {
    if (!missing()) return;
    for (const statement of schemaStatements()) db.exec(statement);
    // ANALYZE of the still empty tables creates sqlite_stat1; its rows are then replaced by the fixed ones.
    db.exec('ANALYZE');
    db.exec('DELETE FROM sqlite_stat1');
    const insert = db.prepare('INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)');
    for (const row of plannerStatistics()) insert.run(...row);
  }).immediate();
  // The planner reads the statistics when it loads the schema.
  db.exec('ANALYZE sqlite_schema');
}
