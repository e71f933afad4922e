import { type Binary, type Db, GridFSBucket, type GridFSBucketWriteStream, ObjectId } from 'mongodb';
import { BLOB_CHUNK_BYTES, BlobMeter } from '../blob-meter.js';
import type { BlobFiles } from '../blob-files.js';
import type { BlobRef } from '../blob-port.js';
import { translateMongoError } from './mongo-errors.js';

/** The GridFS bucket of blobs: collections `blobs.files` and `blobs.chunks`. */
export const BLOB_BUCKET = 'blobs';
/** Pieces read per round trip: a reader holds about this many pieces, never a whole blob. */
const READ_BATCH = 4;

interface ChunkDocument {
  files_id: ObjectId;
  n: number;
  data: Binary | Uint8Array;
}

async function translated<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translateMongoError(error);
  }
}

/** Resolves once the stream has taken `piece` (for a whole GridFS chunk: once it is inserted). */
function written(upload: GridFSBucketWriteStream, piece: Buffer): Promise<void> {
  return new Promise((resolve, reject) => upload.write(piece, (error) => (error ? reject(error) : resolve())));
}

/** Resolves once the last chunk and the files document are stored. */
function ended(upload: GridFSBucketWriteStream): Promise<void> {
  return new Promise((resolve, reject) => upload.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

function objectIdOf(blobId: string): ObjectId | undefined {
  return /^[0-9a-f]{24}$/.test(blobId) ? new ObjectId(blobId) : undefined;
}

/**
 * The bucket's indexes: GridFS's own two (the driver also makes them on a first upload into an empty bucket), and
 * the files by run, which pruning looks blobs up by. Idempotent.
 */
export async function createBlobIndexes(db: Db): Promise<void> {
  await translated(async () => {
    await db.collection(`${BLOB_BUCKET}.files`).createIndex({ filename: 1, uploadDate: 1 });
    await db.collection(`${BLOB_BUCKET}.chunks`).createIndex({ files_id: 1, n: 1 }, { unique: true });
    await db
      .collection(`${BLOB_BUCKET}.files`)
      .createIndex({ 'metadata.run_id': 1 }, { name: 'blobs_files_run', sparse: true });
  });
}

/**
 * Blobs in GridFS, through the official driver's GridFSBucket. The driver writes a file's `files` document after
 * its last chunk, so a blob whose put failed is never found; its chunks are removed here. Reads go through the
 * chunks collection in small batches (the bucket's download stream would read up to a 16 MB batch at once).
 */
export class GridFsBlobFiles implements BlobFiles {
  private readonly bucket: GridFSBucket;

  constructor(private readonly db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: BLOB_BUCKET, chunkSizeBytes: BLOB_CHUNK_BYTES });
  }

  async put(
    source: AsyncIterable<Uint8Array>,
    options: { name: string; maxBytes: number; runId?: string },
  ): Promise<BlobRef> {
    const meter = new BlobMeter(options.name, options.maxBytes);
    const upload = this.bucket.openUploadStream(options.name, {
      chunkSizeBytes: BLOB_CHUNK_BYTES,
      ...(options.runId === undefined ? {} : { metadata: { run_id: options.runId } }),
    });
    // Its failures come back through the write and end callbacks; unheard, the 'error' event would end the process.
    upload.on('error', () => undefined);
    try {
      for await (const piece of meter.pieces(source)) await written(upload, piece);
      await ended(upload);
      const { sha256, size_bytes } = meter.result();
      return { blob_id: upload.id.toHexString(), sha256, size_bytes };
    } catch (error) {
      upload.destroy();
      // The files document is written last; should it have been, it goes first, then the chunks.
      await this.removeFile(upload.id).catch(() => undefined);
      throw translateMongoError(error);
    }
  }

  async open(blobId: string): Promise<AsyncIterable<Buffer> | undefined> {
    const id = objectIdOf(blobId);
    if (!id) return undefined;
    const file = await translated(() => this.db.collection(`${BLOB_BUCKET}.files`).findOne({ _id: id }));
    if (!file) return undefined;
    const chunks = this.db.collection<ChunkDocument>(`${BLOB_BUCKET}.chunks`);
    return (async function* pieces() {
      const cursor = chunks
        .find({ files_id: id }, { projection: { n: 1, data: 1 } })
        .sort({ n: 1 })
        .batchSize(READ_BATCH);
      try {
        for (;;) {
          const chunk = await translated(() => cursor.next());
          if (!chunk) return;
          const data = chunk.data instanceof Uint8Array ? chunk.data : chunk.data.value();
          yield Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        }
      } finally {
        await cursor.close().catch(() => undefined);
      }
    })();
  }

  async remove(runIds: readonly string[], blobIds: readonly string[]): Promise<number> {
    const ids = new Map<string, ObjectId>();
    for (const blobId of blobIds) {
      const id = objectIdOf(blobId);
      if (id) ids.set(blobId, id);
    }
    if (runIds.length > 0) {
      const files = await translated(() =>
        this.db
          .collection(`${BLOB_BUCKET}.files`)
          .find({ 'metadata.run_id': { $in: [...runIds] } }, { projection: { _id: 1 } })
          .toArray(),
      );
      for (const file of files) if (file._id instanceof ObjectId) ids.set(file._id.toHexString(), file._id);
    }
    let removed = 0;
    for (const id of ids.values()) removed += await this.removeFile(id);
    return removed;
  }

  /** The files document first (the blob is gone from then on), then its chunks; 1 when there was a file. */
  private removeFile(id: ObjectId): Promise<number> {
    return translated(async () => {
      const { deletedCount } = await this.db.collection(`${BLOB_BUCKET}.files`).deleteOne({ _id: id });
      await this.db.collection(`${BLOB_BUCKET}.chunks`).deleteMany({ files_id: id });
      return deletedCount;
    });
  }
}
