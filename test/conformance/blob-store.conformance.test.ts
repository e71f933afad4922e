import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { isMaestroError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { openStore } from '../../src/store/open.js';
import type { LogChunk, RunStore } from '../../src/store/port.js';
import { skipUnavailable, testBackends, type TestBackend } from '../support/backends.js';
import { makeRun, makeStep } from '../support/documents.js';

const KiB = 1024;

/** `total` bytes of a repeatable pattern in pieces of `piece` bytes, counting what was asked for. */
function source(total: number, piece: number, seen = { bytes: 0, finished: false }) {
  return {
    seen,
    async *[Symbol.asyncIterator]() {
      try {
        for (let at = 0; at < total; at += piece) {
          const bytes = Buffer.alloc(Math.min(piece, total - at));
          for (let i = 0; i < bytes.length; i += 1) bytes[i] = ((at + i) * 31 + ((at + i) >> 8)) & 0xff;
          seen.bytes += bytes.length;
          yield new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
        }
      } finally {
        seen.finished = true;
      }
    },
  };
}

async function digestOf(pieces: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number; largest: number }> {
  const hash = createHash('sha256');
  let size = 0;
  let largest = 0;
  for await (const piece of pieces) {
    hash.update(piece);
    size += piece.length;
    largest = Math.max(largest, piece.length);
  }
  return { sha256: hash.digest('hex'), size, largest };
}

async function readAll(store: RunStore, blobId: string): Promise<Buffer | undefined> {
  const pieces = await store.blobs.openBlob(blobId);
  if (!pieces) return undefined;
  const all: Buffer[] = [];
  for await (const piece of pieces) all.push(piece);
  return Buffer.concat(all);
}

/** What the blob area holds underneath the port: pieces and whole blobs (SQLite file and MongoDB only). */
async function storedPieces(url: string): Promise<{ pieces: number; blobs: number } | undefined> {
  if (url.startsWith('sqlite://')) {
    const db = new Database(url.slice('sqlite://'.length), { readonly: true });
    try {
      const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      return { pieces: count('blob_chunks'), blobs: count('blobs') };
    } finally {
      db.close();
    }
  }
  if (!url.startsWith('mongodb://')) return undefined;
  const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 3000 });
  try {
    const db = client.db();
    return {
      pieces: await db.collection('blobs.chunks').countDocuments({}),
      blobs: await db.collection('blobs.files').countDocuments({}),
    };
  } finally {
    await client.close();
  }
}

function chunk(runId: string, seq: number, text: string, overrides: Partial<LogChunk> = {}): LogChunk {
  return {
    run_id: runId,
    key: 'build',
    attempt: 1,
    seq,
    data: Buffer.from(text),
    at: new Date().toISOString(),
    ...overrides,
  };
}

describe.each(testBackends())('BlobStore conformance on $name', (backend: TestBackend) => {
  skipUnavailable(backend);
  let store: RunStore;
  let url: string;

  beforeEach(async () => {
    const created = await backend.create();
    ({ store, url } = created);
    return () => created.cleanup();
  });

  it('stores a blob with its digest and size and reads it back, also from another instance', async () => {
    const parts = ['hello, ', 'blob ', 'world\n'].map((text) => new TextEncoder().encode(text));
    const ref = await store.blobs.putBlob(
      (async function* () {
        yield* parts;
      })(),
      { name: 'greeting.txt', maxBytes: 1024 },
    );
    expect(ref.size_bytes).toBe(18);
    expect(ref.sha256).toBe(createHash('sha256').update('hello, blob world\n').digest('hex'));
    expect((await readAll(store, ref.blob_id))?.toString()).toBe('hello, blob world\n');
    expect(await store.blobs.openBlob('0123456789abcdef01234567')).toBeUndefined();
    expect(await store.blobs.openBlob(newId())).toBeUndefined();
    const empty = await store.blobs.putBlob(source(0, 1), { name: 'empty', maxBytes: 0 });
    expect(empty).toMatchObject({ size_bytes: 0, sha256: createHash('sha256').digest('hex') });
    expect((await readAll(store, empty.blob_id))?.length).toBe(0);
    if (backend.shared) {
      const other = await openStore(url);
      try {
        expect((await readAll(other, ref.blob_id))?.toString()).toBe('hello, blob world\n');
      } finally {
        await other.close();
      }
    }
  });

  it('streams a 5 MB blob in and out in pieces of at most 256 KiB', async () => {
    const total = 5 * 1024 * KiB + 12_345;
    const expected = await digestOf(source(total, 100 * KiB));
    const ref = await store.blobs.putBlob(source(total, 100 * KiB), { name: 'big.bin', maxBytes: 6 * 1024 * KiB });
    expect(ref).toMatchObject({ sha256: expected.sha256, size_bytes: total });
    const read = await digestOf((await store.blobs.openBlob(ref.blob_id))!);
    expect(read.sha256).toBe(expected.sha256);
    expect(read.size).toBe(total);
    expect(read.largest).toBeLessThanOrEqual(256 * KiB);
    const underneath = await storedPieces(url);
    if (underneath) expect(underneath).toEqual({ pieces: Math.ceil(total / (256 * KiB)), blobs: 1 });
  });

  it('refuses a blob past maxBytes with BLOB_TOO_LARGE, stops reading it, and keeps nothing of it', async () => {
    const seen = { bytes: 0, finished: false };
    const refused = await store.blobs
      .putBlob(source(2 * 1024 * KiB, 64 * KiB, seen), { name: 'too-big.bin', maxBytes: 700 * KiB })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isMaestroError(refused, 'BLOB_TOO_LARGE')).toBe(true);
    expect((refused as { details: unknown }).details).toMatchObject({ max_bytes: 700 * KiB });
    // It stopped at the piece that crossed the limit, and the source was closed.
    expect(seen.bytes).toBe(704 * KiB);
    expect(seen.finished).toBe(true);
    // A source that fails half-way fails the put with its own error, and leaves nothing either.
    const broken = (async function* () {
      yield* source(600 * KiB, 64 * KiB);
      throw new Error('disk went away');
    })();
    await expect(store.blobs.putBlob(broken, { name: 'broken.bin', maxBytes: 1024 * KiB })).rejects.toThrow(
      'disk went away',
    );
    const underneath = await storedPieces(url);
    if (underneath) expect(underneath).toEqual({ pieces: 0, blobs: 0 });
  });

  it('keeps log chunks in seq order per attempt, ignores a repeated seq, and pages after a seq', async () => {
    const runId = newId();
    for (const seq of [2, 0, 1]) await store.blobs.appendLogChunk(chunk(runId, seq, `line ${seq}\n`));
    await store.blobs.appendLogChunk(chunk(runId, 1, 'a second write of seq 1\n'));
    await store.blobs.appendLogChunk(chunk(runId, 0, 'attempt 2\n', { attempt: 2 }));
    await store.blobs.appendLogChunk(chunk(runId, 0, 'other step\n', { key: 'test' }));
    const address = { run_id: runId, key: 'build', attempt: 1 };
    const all = await store.blobs.listLogChunks(address, -1, 100);
    expect(all.map((c) => [c.seq, c.data.toString()])).toEqual([
      [0, 'line 0\n'],
      [1, 'line 1\n'],
      [2, 'line 2\n'],
    ]);
    expect(Buffer.isBuffer(all[0]!.data)).toBe(true);
    expect(typeof all[0]!.at).toBe('string');
    expect((await store.blobs.listLogChunks(address, 0, 1)).map((c) => c.seq)).toEqual([1]);
    expect((await store.blobs.listLogChunks(address, 2, 10)).length).toBe(0);
    expect((await store.blobs.listLogChunks({ ...address, attempt: 2 }, -1, 10))[0]?.data.toString()).toBe(
      'attempt 2\n',
    );
    // Bytes that are not text survive (the document holds them as base64).
    const binary = Buffer.from([0, 255, 10, 13, 128, 0x1b]);
    await store.blobs.appendLogChunk({ ...chunk(runId, 3, ''), data: binary });
    expect((await store.blobs.listLogChunks(address, 2, 1))[0]?.data.equals(binary)).toBe(true);
  });

  it('removes the log chunks and blobs of removed runs, and of pruned run trees, and nothing else', async () => {
    const [gone, kept] = [newId(), newId()];
    const filed = await store.blobs.putBlob(source(10 * KiB, KiB), { name: 'a', maxBytes: 1 << 20, runId: gone });
    const named = await store.blobs.putBlob(source(10 * KiB, KiB), { name: 'b', maxBytes: 1 << 20 });
    const other = await store.blobs.putBlob(source(10 * KiB, KiB), { name: 'c', maxBytes: 1 << 20, runId: kept });
    await store.blobs.appendLogChunk(chunk(gone, 0, 'gone\n'));
    await store.blobs.appendLogChunk(chunk(kept, 0, 'kept\n'));
    expect(await store.blobs.removeRunData([gone], [named.blob_id])).toBe(3);
    expect(await store.blobs.openBlob(filed.blob_id)).toBeUndefined();
    expect(await store.blobs.openBlob(named.blob_id)).toBeUndefined();
    expect((await readAll(store, other.blob_id))?.length).toBe(10 * KiB);
    expect(await store.blobs.listLogChunks({ run_id: gone, key: 'build', attempt: 1 }, -1, 10)).toEqual([]);
    expect(await store.blobs.listLogChunks({ run_id: kept, key: 'build', attempt: 1 }, -1, 10)).toHaveLength(1);
    expect(await store.blobs.removeRunData([gone], [named.blob_id])).toBe(0);

    // Pruning an ended run tree takes its logs and blobs along.
    const run = makeRun({ status: 'succeeded', ended_at: new Date().toISOString() });
    await store.createRun(run, [makeStep(run.run_id, 'build', { status: 'succeeded', attempt: 1 })]);
    const ofRun = await store.blobs.putBlob(source(KiB, KiB), { name: 'd', maxBytes: KiB, runId: run.run_id });
    await store.blobs.appendLogChunk(chunk(run.run_id, 0, 'pruned\n'));
    await store.removeRunTree(run.run_id, true);
    expect(await store.blobs.listLogChunks({ run_id: run.run_id, key: 'build', attempt: 1 }, -1, 10)).toHaveLength(1);
    await store.removeRunTree(run.run_id, false);
    expect(await store.blobs.listLogChunks({ run_id: run.run_id, key: 'build', attempt: 1 }, -1, 10)).toEqual([]);
    expect(await store.blobs.openBlob(ofRun.blob_id)).toBeUndefined();
    expect((await readAll(store, other.blob_id))?.length).toBe(10 * KiB);
  });
});
