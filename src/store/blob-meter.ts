import { createHash } from 'node:crypto';
import { MaestroError } from '../domain/errors.js';

/** The size of the pieces blobs are stored in: GridFS's own default is close (255 KiB). */
export const BLOB_CHUNK_BYTES = 256 * 1024;

/**
 * What a blob's bytes come to while they stream in: the source cut into pieces of BLOB_CHUNK_BYTES (the last one
 * shorter), the sha256 and size counted on the way, and BLOB_TOO_LARGE thrown as soon as the count passes
 * `maxBytes`, before the piece that crosses it is given out. Only one piece is held at a time.
 */
export class BlobMeter {
  private readonly hash = createHash('sha256');
  private size = 0;

  constructor(
    private readonly name: string,
    private readonly maxBytes: number,
  ) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
      throw new MaestroError('INPUT_INVALID', `maxBytes of blob ${name} must be a whole number of bytes`, {
        details: { path: 'maxBytes', expected: 'an integer >= 0', got: maxBytes },
      });
  }

  async *pieces(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
    let held: Buffer[] = [];
    let heldBytes = 0;
    for await (const part of source) {
      const bytes =
        typeof part === 'string'
          ? Buffer.from(part, 'utf8')
          : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
      if (bytes.length === 0) continue;
      this.size += bytes.length;
      if (this.size > this.maxBytes)
        throw new MaestroError(
          'BLOB_TOO_LARGE',
          `blob ${this.name} is larger than its limit of ${this.maxBytes} bytes`,
          {
            details: { name: this.name, max_bytes: this.maxBytes },
          },
        );
      this.hash.update(bytes);
      // Copied: a source may reuse its buffer once the next part is asked for.
      held.push(Buffer.from(bytes));
      heldBytes += bytes.length;
      while (heldBytes >= BLOB_CHUNK_BYTES) {
        const joined = Buffer.concat(held, heldBytes);
        yield joined.subarray(0, BLOB_CHUNK_BYTES);
        const rest = joined.subarray(BLOB_CHUNK_BYTES);
        held = rest.length > 0 ? [rest] : [];
        heldBytes = rest.length;
      }
    }
    if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
  }

  /** The digest and size of everything `pieces` read; call once it has ended. */
  result(): { sha256: string; size_bytes: number } {
    return { sha256: this.hash.digest('hex'), size_bytes: this.size };
  }
}
