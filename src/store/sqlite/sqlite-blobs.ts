import type Database from 'better-sqlite3';
import { newId } from '../../domain/ids.js';
import { BlobMeter } from '../blob-meter.js';
import type { BlobFiles } from '../blob-files.js';
import type { BlobRef } from '../blob-port.js';
import { waitingOutLocks } from './sqlite-busy.js';

/**
 * The embedded store's blob area, in the store file itself: `blob_chunks` holds the pieces, `blobs` one row per
 * whole blob, written after its last piece, so a blob whose put failed (or whose process died) is never readable.
 */
export const blobTableStatements: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, run_id TEXT, sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, chunks INTEGER NOT NULL, created_at TEXT NOT NULL) STRICT`,
  // A rowid table: pieces of 256 KiB are too large for WITHOUT ROWID's B-tree to store well.
  `CREATE TABLE IF NOT EXISTS blob_chunks (blob_id TEXT NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (blob_id, n)) STRICT`,
  'CREATE INDEX IF NOT EXISTS blobs_run ON blobs (run_id) WHERE run_id IS NOT NULL',
];

export const blobTableNames: readonly string[] = ['blobs', 'blob_chunks', 'blobs_run'];

interface BlobRow {
  id: string;
  chunks: number;
  size_bytes: number;
}

/**
 * Blobs in the SQLite file. Each piece is its own short write, so a large put never holds the write lock for long
 * (other processes' claims and renewals go in between); reading takes one piece at a time.
 */
export class SqliteBlobFiles implements BlobFiles {
  constructor(
    private readonly db: Database.Database,
    private readonly translate: (error: unknown) => unknown,
    private readonly busyTimeoutMs: number,
  ) {}

  async put(
    source: AsyncIterable<Uint8Array>,
    options: { name: string; maxBytes: number; runId?: string },
  ): Promise<BlobRef> {
    const meter = new BlobMeter(options.name, options.maxBytes);
    const blobId = newId();
    const insertPiece = this.db.prepare('INSERT INTO blob_chunks (blob_id, n, data) VALUES (?, ?, ?)');
    let n = 0;
    try {
      for await (const piece of meter.pieces(source)) {
        await this.locked(() => insertPiece.run(blobId, n, piece));
        n += 1;
      }
      const { sha256, size_bytes } = meter.result();
      await this.locked(() =>
        this.db
          .prepare(
            'INSERT INTO blobs (id, name, run_id, sha256, size_bytes, chunks, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(blobId, options.name, options.runId ?? null, sha256, size_bytes, n, new Date().toISOString()),
      );
      return { blob_id: blobId, sha256, size_bytes };
    } catch (error) {
      // Unreadable already (no blobs row); the pieces go too, unless the store itself is what failed.
      await this.locked(() => this.db.prepare('DELETE FROM blob_chunks WHERE blob_id = ?').run(blobId)).catch(
        () => undefined,
      );
      throw error;
    }
  }

  async open(blobId: string): Promise<AsyncIterable<Buffer> | undefined> {
    const row = await this.locked(
      () => this.db.prepare('SELECT id, chunks, size_bytes FROM blobs WHERE id = ?').get(blobId) as BlobRow | undefined,
    );
    if (!row) return undefined;
    const piece = this.db.prepare('SELECT data FROM blob_chunks WHERE blob_id = ? AND n = ?');
    const read = (n: number) => this.locked(() => piece.get(row.id, n) as { data: Buffer } | undefined);
    return (async function* pieces() {
      for (let n = 0; n < row.chunks; n += 1) {
        const found = await read(n);
        // Removed while being read (a prune): the reader sees a short blob, and the digest check fails it.
        if (!found) return;
        yield found.data;
      }
    })();
  }

  async remove(runIds: readonly string[], blobIds: readonly string[]): Promise<number> {
    const ids = new Set(blobIds);
    if (runIds.length > 0) {
      const ofRuns = this.db.prepare('SELECT id FROM blobs WHERE run_id IN (SELECT value FROM json_each(?))');
      for (const row of await this.locked(() => ofRuns.all(JSON.stringify(runIds)) as Array<{ id: string }>))
        ids.add(row.id);
    }
    const removeRow = this.db.prepare('DELETE FROM blobs WHERE id = ?');
    const removePieces = this.db.prepare('DELETE FROM blob_chunks WHERE blob_id = ?');
    let removed = 0;
    // One blob per write: the row first (unreadable from then on), its pieces with it.
    const removeOne = this.db.transaction((blobId: string) => {
      const changes = removeRow.run(blobId).changes;
      removePieces.run(blobId);
      return changes;
    });
    for (const blobId of ids) removed += await this.locked(() => removeOne.immediate(blobId));
    return removed;
  }

  /** One statement or transaction, waiting out other writers' locks; SQLite's errors translated. */
  private async locked<T>(operation: () => T): Promise<T> {
    try {
      return await waitingOutLocks(operation, this.busyTimeoutMs);
    } catch (error) {
      throw this.translate(error);
    }
  }
}
