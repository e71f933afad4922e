import type { LogChunkDocument } from '../generated/schemas.js';
import { derivedId } from '../domain/ids.js';
import type { LogAddress, LogChunk } from './blob-port.js';
import type { DocumentCollection } from './document-collection.js';
import { Collection, fromStored, toStored } from './stored-form.js';
import { assertValidDocument } from './validate-document.js';

/**
 * Step attempts' logs as documents of `log_chunks`, the same on every adapter. A chunk's _id is derived from its
 * address and seq, so a repeated append (a retry after a lost answer) meets the one stored and is skipped.
 */
export class LogChunkDocuments {
  constructor(private readonly chunks: DocumentCollection) {}

  async append(chunk: LogChunk): Promise<void> {
    const doc: LogChunkDocument = {
      run_id: chunk.run_id,
      key: chunk.key,
      attempt: chunk.attempt,
      seq: chunk.seq,
      data: chunk.data.toString('base64'),
      at: chunk.at,
    };
    assertValidDocument(Collection.logChunks, doc);
    const _id = derivedId('log_chunk', doc.run_id, doc.key, String(doc.attempt), String(doc.seq));
    await this.chunks.insertManyIgnoringDuplicates([{ ...toStored(Collection.logChunks, doc), _id }]);
  }

  async list(address: LogAddress, afterSeq: number, limit: number): Promise<LogChunk[]> {
    const found = await this.chunks.find(
      { run_id: address.run_id, key: address.key, attempt: address.attempt, seq: { $gt: afterSeq } },
      { sort: { seq: 1 }, limit: Math.max(0, Math.floor(limit)) },
    );
    return found.map((stored) => {
      const doc = fromStored<LogChunkDocument>(Collection.logChunks, stored);
      return { ...doc, data: Buffer.from(doc.data, 'base64') };
    });
  }

  removeRuns(runIds: readonly string[]): Promise<number> {
    if (runIds.length === 0) return Promise.resolve(0);
    return this.chunks.deleteMany({ run_id: { $in: [...runIds] } });
  }
}
