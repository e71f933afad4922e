import type { BlobFiles } from './blob-files.js';
import type { BlobRef, BlobStore, LogAddress, LogChunk } from './blob-port.js';
import type { DocumentDriver } from './document-collection.js';
import { LogChunkDocuments } from './log-chunk-documents.js';
import { Collection } from './stored-form.js';

/** The blob port of a document store: its adapter's blob area, and log chunks as documents. */
export class DocumentBlobStore implements BlobStore {
  constructor(
    private readonly files: BlobFiles,
    private readonly logChunks: LogChunkDocuments,
  ) {}

  putBlob(
    source: AsyncIterable<Uint8Array>,
    options: { name: string; maxBytes: number; runId?: string },
  ): Promise<BlobRef> {
    return this.files.put(source, options);
  }

  openBlob(blobId: string): Promise<AsyncIterable<Buffer> | undefined> {
    return this.files.open(blobId);
  }

  appendLogChunk(chunk: LogChunk): Promise<void> {
    return this.logChunks.append(chunk);
  }

  listLogChunks(address: LogAddress, afterSeq: number, limit: number): Promise<LogChunk[]> {
    return this.logChunks.list(address, afterSeq, limit);
  }

  /** Each part is idempotent: a prune cut short removes the rest the next time it finds the run. */
  async removeRunData(runIds: readonly string[], blobIds: readonly string[]): Promise<number> {
    const chunks = await this.logChunks.removeRuns(runIds);
    return chunks + (await this.files.remove(runIds, blobIds));
  }
}

/** The blob port over a driver: its blob area, and the `log_chunks` collection. */
export function documentBlobStore(driver: DocumentDriver): BlobStore {
  return new DocumentBlobStore(driver.blobFiles(), new LogChunkDocuments(driver.collection(Collection.logChunks)));
}
