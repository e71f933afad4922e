import type Database from 'better-sqlite3';
import { storeIndexes } from '../indexes.js';
import { Collection } from '../stored-form.js';
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
  return statements;
}

/** The names schemaStatements creates. */
function schemaNames(): string[] {
  return [...Object.values(Collection), ...storeIndexes.map((index) => index.name)];
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
  }).immediate();
}
