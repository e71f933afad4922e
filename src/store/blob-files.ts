import type { BlobRef } from './blob-port.js';

/**
 * Where an adapter keeps blob bytes (the SQLite file's blob tables, GridFS): the part of the blob port that differs
 * between adapters. Log chunks are documents and shared (log-chunk-documents.ts).
 */
export interface BlobFiles {
  /** As BlobStore.putBlob: streamed in pieces, the blob readable only once whole. */
  put(source: AsyncIterable<Uint8Array>, options: { name: string; maxBytes: number; runId?: string }): Promise<BlobRef>;
  open(blobId: string): Promise<AsyncIterable<Buffer> | undefined>;
  /** Removes the blobs filed under these runs and those with these ids; returns how many went. */
  remove(runIds: readonly string[], blobIds: readonly string[]): Promise<number>;
}
