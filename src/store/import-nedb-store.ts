import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { MaestroError } from '../domain/errors.js';
import type { StoredDocument } from './document-collection.js';
import { readNedbDatafile } from './nedb-datafile.js';
import { Collection } from './stored-form.js';

/** The SQLite store as the import writes it. */
export interface ImportTarget {
  /** Documents a collection holds. */
  count(collection: string): Promise<number>;
  /**
   * Inserts every document in one write transaction (a document whose _id or unique key is there already is not
   * written) and calls `verify` inside it with how many of each collection's given _ids the store then holds;
   * `verify` throws to roll everything back.
   */
  insertAll(
    documents: ReadonlyMap<string, StoredDocument[]>,
    verify: (present: ReadonlyMap<string, number>) => void,
  ): Promise<void>;
}

export interface ImportedCollection {
  collection: Collection;
  /** Documents in the NeDB files, as NeDB loaded them. */
  in_nedb: number;
  /** Of those, how many the SQLite store holds after the import (by _id). */
  in_sqlite: number;
  /** Lines NeDB would have dropped too (a line cut short by a killed process). */
  unreadable_lines: number;
}

/** The collections a NeDB store had (the later ones start empty in SQLite). */
const nedbCollections = [
  Collection.plans,
  Collection.runs,
  Collection.steps,
  Collection.artifacts,
  Collection.events,
  Collection.schedules,
] as const;

const datafile = (directory: string, collection: Collection) => join(directory, `${collection}.db`);

/** Whether a directory holds NeDB datafiles of a store (what `nedb://dir` opened before SQLite). */
export function isNedbStore(directory: string): boolean {
  return nedbCollections.some(
    (collection) => existsSync(datafile(directory, collection)) || existsSync(`${datafile(directory, collection)}~`),
  );
}

/**
 * What to say where a new SQLite store file is about to be created beside the store of an earlier version
 * (`.maestro/store` next to `.maestro/maestro.db`), or undefined.
 */
export function oldStoreNotice(sqliteFile: string, cwd = process.cwd()): string | undefined {
  const old = join(dirname(sqliteFile), 'store');
  if (existsSync(sqliteFile) || !isNedbStore(old)) return undefined;
  const shown = (path: string) => (path.startsWith(`${cwd}/`) ? relative(cwd, path) : path);
  return (
    `${shown(old)} holds a store of an earlier version (NeDB), which this version does not open; this command ` +
    `uses a new store, ${shown(sqliteFile)}. To copy the old runs, plans and schedules into it: ` +
    `maestro store import nedb://${shown(old)}`
  );
}

/** The process named in the old store's LOCK file when it is still running (an earlier version using the store). */
function lockHolder(directory: string): number | undefined {
  const lock = join(directory, 'LOCK');
  if (!existsSync(lock)) return undefined;
  const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

function refused(message: string, details: Record<string, unknown>): MaestroError {
  return new MaestroError('STORE_IMPORT_REFUSED', message, { details });
}

/** Refuses a directory that is not a NeDB store, or whose store a running earlier version still has open. */
export function assertImportable(directory: string): void {
  if (!existsSync(directory) || !statSync(directory).isDirectory() || !isNedbStore(directory))
    throw new MaestroError('INPUT_INVALID', `${directory} is not a NeDB store: it has no plans.db, runs.db, … files`, {
      details: { path: 'old-url', got: directory, expected: 'a NeDB store directory, e.g. nedb://.maestro/store' },
    });
  const holder = lockHolder(directory);
  if (holder !== undefined)
    throw refused(`the NeDB store ${directory} is in use by process ${holder}; stop it first`, {
      directory,
      pid: holder,
    });
}

/** A NeDB store's documents as NeDB loaded them, per collection. */
export interface NedbStoreContents {
  documents: ReadonlyMap<string, StoredDocument[]>;
  rows: ImportedCollection[];
}

/** Reads every datafile of a NeDB store (checked with assertImportable first). */
export function readNedbStore(directory: string): NedbStoreContents {
  assertImportable(directory);
  const documents = new Map<string, StoredDocument[]>();
  const rows: ImportedCollection[] = [];
  for (const collection of nedbCollections) {
    const read = readNedbDatafile(datafile(directory, collection));
    documents.set(collection, read.documents);
    rows.push({ collection, in_nedb: read.documents.length, in_sqlite: 0, unreadable_lines: read.unreadableLines });
  }
  return { documents, rows };
}

/**
 * Copies what was read into the target, all or nothing, and verifies by counts: each collection's documents read
 * must all be in the target afterwards, or nothing is imported. A target that holds runs already is refused unless
 * `merge` (documents already there by _id are then kept as they are).
 */
export async function importNedbStore(
  contents: NedbStoreContents,
  target: ImportTarget,
  options: { merge: boolean },
): Promise<ImportedCollection[]> {
  const runsThere = await target.count(Collection.runs);
  if (runsThere > 0 && !options.merge)
    throw refused(
      `the SQLite store already holds ${runsThere} runs; give --merge to import beside them ` +
        '(documents already there with the same id are kept as they are)',
      { path: '--store', runs: runsThere },
    );
  const rows = contents.rows.map((row) => ({ ...row }));
  await target.insertAll(contents.documents, (present) => {
    for (const row of rows) row.in_sqlite = present.get(row.collection) ?? 0;
    const short = rows.filter((row) => row.in_sqlite !== row.in_nedb);
    if (short.length > 0)
      throw refused(
        `the import stored fewer documents than it read (${short
          .map((row) => `${row.collection}: ${row.in_sqlite} of ${row.in_nedb}`)
          .join(', ')}), so nothing was imported: a document's unique key (a schedule's plan, a step's key in ` +
          'its run, an event number, an idempotency key) is held by another document in the SQLite store',
        { counts: rows },
      );
  });
  return rows;
}
