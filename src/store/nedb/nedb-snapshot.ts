import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MaestroError } from '../../domain/errors.js';
import type { DocumentCollection, DocumentDriver, Filter, StoredDocument } from '../document-collection.js';
import { Collection } from '../stored-form.js';
import type { NedbRunStoreConfig } from './nedb-config.js';
import { Datastore, deserialize, ensureIndexes, match, NedbCollection, type NedbStore } from './nedb-driver.js';

/** What a datafile was when it was last read: read again when any of it differs. */
interface FileState {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * The embedded store read without its lock and without rewriting its files, so commands can read it while another
 * process (`maestro-run`, `maestro serve`) holds it. Each collection is its datafile as last read, whole, into memory;
 * before every read the file is checked (one stat) and read again when it has changed, so a command that polls
 * (`runs logs -f`) follows the writer. Writes are refused.
 */
export class NedbSnapshotDriver implements DocumentDriver {
  readonly backend: string;
  readonly atomicUpdates = true;
  private readonly loaded = new Map<string, { store: NedbStore; file: FileState | undefined }>();

  constructor(private readonly config: NedbRunStoreConfig) {
    this.backend = `nedb (${config.directory}, read-only snapshot)`;
  }

  matches(doc: StoredDocument, filter: Filter): boolean {
    return match(doc, filter);
  }

  collection(name: string): DocumentCollection {
    if (!(Object.values(Collection) as string[]).includes(name)) throw new Error(`unknown collection ${name}`);
    const current = async () => new NedbCollection(await this.current(name));
    const refuse = (): never => {
      throw new MaestroError('STORE_UNAVAILABLE', `${this.backend} is read-only: this command only reads`, {
        retryable: false,
      });
    };
    return {
      findOne: async (filter, sort) => (await current()).findOne(filter, sort),
      find: async (filter, options) => (await current()).find(filter, options),
      insertOne: refuse,
      insertMany: refuse,
      insertManyIgnoringDuplicates: refuse,
      findOneAndUpdate: refuse,
      updateOne: refuse,
      deleteMany: refuse,
    };
  }

  async ping(): Promise<void> {
    // Files on this machine: nothing to reach.
  }

  async close(): Promise<void> {
    this.loaded.clear();
  }

  /** The collection as its file is now: the copy in memory unless the file changed since it was read. */
  private async current(name: string): Promise<NedbStore> {
    const file = fileState(join(this.config.directory, `${name}.db`));
    const known = this.loaded.get(name);
    if (known && sameFile(known.file, file)) return known.store;
    const store = new Datastore<StoredDocument>({ inMemoryOnly: true });
    await store.insertAsync(file ? liveDocuments(readFileSync(file.path, 'utf8'), file.path) : []);
    await ensureIndexes(name, store);
    this.loaded.set(name, { store, file });
    return store;
  }
}

/**
 * A compaction writes `<file>~` and renames it over the file: the file is the old or the new one whole, and
 * `<file>~` alone means a compaction was cut short before its rename (NeDB's loader takes it then too).
 */
function fileState(path: string): FileState | undefined {
  for (const candidate of [path, `${path}~`]) {
    try {
      const stat = statSync(candidate);
      return { path: candidate, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return undefined;
}

function sameFile(a: FileState | undefined, b: FileState | undefined): boolean {
  return a?.path === b?.path && a?.size === b?.size && a?.mtimeMs === b?.mtimeMs && a?.ino === b?.ino;
}

// NeDB's own loader refuses a file with more unreadable lines than this (its corruptAlertThreshold default).
const CORRUPT_SHARE = 0.1;

/**
 * The live documents of a datafile, as NeDB's own loader reads it: the last line of an `_id` wins, a `$$deleted`
 * line removes it, index lines are skipped, and a last line the writer has not finished is left out. Unreadable
 * lines (a killed writer's) are dropped, as NeDB does, unless there are so many that the file is not a datafile.
 */
export function liveDocuments(raw: string, path = 'datafile'): StoredDocument[] {
  const complete = raw.slice(0, raw.lastIndexOf('\n') + 1);
  const byId = new Map<string, StoredDocument>();
  const lines = complete.split('\n').filter((line) => line !== '');
  let unreadable = 0;
  for (const line of lines) {
    let doc: Record<string, unknown>;
    try {
      doc = deserialize(line);
    } catch {
      unreadable += 1;
      continue;
    }
    if (typeof doc._id !== 'string') continue;
    if (doc.$$deleted === true) byId.delete(doc._id);
    else byId.set(doc._id, doc as StoredDocument);
  }
  if (unreadable > lines.length * CORRUPT_SHARE)
    throw new MaestroError(
      'STORE_CORRUPT',
      `the embedded store file ${path} cannot be read: ${unreadable} of its ${lines.length} lines are not documents`,
      {
        details: { file: path },
      },
    );
  return [...byId.values()];
}
