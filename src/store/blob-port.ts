/**
 * The data plane beside the store port: bytes that travel between machines through the store, not through a
 * runner's disk. Artifact files are blobs (GridFS on MongoDB, the SQLite file's own blob table on the embedded
 * store), streamed in and out in chunks and never held whole in memory. A step attempt's log is a sequence of
 * chunks appended while it is written, so any process can follow it live wherever the step runs.
 */

/** A stored blob: its id in the blob area, and the digest and size computed while it streamed in. */
export interface BlobRef {
  blob_id: string;
  sha256: string;
  size_bytes: number;
}

/** Which attempt's log a chunk belongs to. */
export interface LogAddress {
  run_id: string;
  key: string;
  attempt: number;
}

/** One piece of an attempt's log, in the order written: seq 0, 1, 2, … with no gaps. */
export interface LogChunk extends LogAddress {
  seq: number;
  data: Buffer;
  at: string;
}

export interface BlobStore {
  /**
   * Streams `source` into a new blob. Past `maxBytes` it stops reading, removes what it wrote, and throws
   * MaestroError BLOB_TOO_LARGE; nothing of a blob whose write failed stays readable (a source that throws
   * fails the put with its error). `runId` files the blob under a run, so pruning the run removes it even when
   * no artifact names it. The source is consumed once: a failed put is never retried by the store.
   */
  putBlob(
    source: AsyncIterable<Uint8Array>,
    options: { name: string; maxBytes: number; runId?: string },
  ): Promise<BlobRef>;
  /** The blob's bytes, chunk by chunk, as stored (the reader checks the digest); undefined when there is none. */
  openBlob(blobId: string): Promise<AsyncIterable<Buffer> | undefined>;
  /** Appends one chunk of an attempt's log; a repeated (address, seq) is ignored. */
  appendLogChunk(chunk: LogChunk): Promise<void>;
  /** The chunks of an attempt's log after `afterSeq` (-1 for all), in order, at most `limit`. */
  listLogChunks(address: LogAddress, afterSeq: number, limit: number): Promise<LogChunk[]>;
  /**
   * Removes the log chunks and the blobs filed under these runs, and the blobs named by id (an artifact's
   * blob_id), for pruning; returns how many chunks and blobs went.
   */
  removeRunData(runIds: readonly string[], blobIds: readonly string[]): Promise<number>;
}
