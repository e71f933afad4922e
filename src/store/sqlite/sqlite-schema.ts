import type Database from 'better-sqlite3';
import { storeIndexes } from '../indexes.js';
import { Collection } from '../stored-form.js';
import { blobTableNames, blobTableStatements } from './sqlite-blobs.js';
import { fieldSql, jsonTypeSql } from './sqlite-query.js';

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
    // A sparse index of one field holds only the documents that have it, as on MongoDB: a partial index. Writes to
    // the others (every step but an open offer) then touch none of its pages.
    const partial = index.sparse && keys.length === 1 ? ` WHERE ${jsonTypeSql(keys[0]![0])} IS NOT NULL` : '';
    statements.push(
      `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${index.name} ON ${index.collection} (${terms.join(', ')})${partial}`,
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

/** The CREATE statements of the store's tables and indexes, by name, as sqlite_master keeps them. */
function expectedDefinitions(): Map<string, string> {
  const definitions = new Map<string, string>();
  for (const statement of schemaStatements()) {
    const name = /^CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (\w+)/.exec(statement)?.[1];
    if (name) definitions.set(name, statement.replace(' IF NOT EXISTS', ''));
  }
  return definitions;
}

/**
 * Creates the tables and indexes a store lacks (a new file, or one from an older version), and rebuilds an index
 * whose definition changed since (steps_offered became partial), under the write lock: other processes may be
 * opening it too. Reading the definitions is what an open costs when everything is there.
 */
export function ensureSchema(db: Database.Database): void {
  const expected = expectedDefinitions();
  /** Indexes to drop (defined otherwise), and whether anything is to be created. */
  const changes = () => {
    const present = new Map(
      (
        db.prepare("SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'index')").all() as Array<{
          name: string;
          type: string;
          sql: string | null;
        }>
      ).map((row) => [row.name, row]),
    );
    const redefined = [...expected].flatMap(([name, sql]) => {
      const found = present.get(name);
      return found?.type === 'index' && found.sql !== sql ? [name] : [];
    });
    const missing = schemaNames().some((name) => !present.has(name));
    return { redefined, needed: missing || redefined.length > 0 };
  };
  if (!changes().needed) return;
  db.transaction(() => {
    const { redefined, needed } = changes();
    if (!needed) return;
    for (const name of redefined) db.exec(`DROP INDEX ${name}`);
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
