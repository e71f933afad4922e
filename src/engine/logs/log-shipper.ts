import { setTimeout as sleep } from 'node:timers/promises';
import { isMaestroError } from '../../domain/errors.js';
import type { BlobStore, LogAddress } from '../../store/port.js';

/** How an attempt's log travels to the store; the defaults suit every runner. */
export interface LogShipping {
  blobs: Pick<BlobStore, 'appendLogChunk' | 'listLogChunks'>;
  address: LogAddress;
  /**
   * This runner's claim started the attempt (not a takeover): no other runner can have stored chunks of it, so its
   * log starts at seq 0 without reading the store first.
   */
  freshAttempt?: boolean;
  /** The longest bytes wait before they are sent. Default 250 ms. */
  flushMs?: number;
  /** Bytes sent in one chunk at most; a full chunk goes at once. Default 256 KiB. */
  chunkBytes?: number;
  /** Bytes held while the store does not take them; past this, bytes are counted, not kept. Default 8 MiB. */
  maxHeldBytes?: number;
  /** How long close keeps trying to hand over what is held. Default 10 s (below the lease). */
  closeWithinMs?: number;
  now?: () => Date;
  /** Told once per outage that the store refuses the log, and when close gives up. */
  warn?: (message: string) => void;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;
/** Chunks read per page when finding where an attempt taken over from another runner goes on. */
const SEQ_PAGE = 64;

/**
 * Ships one attempt's (masked) log to the store as chunks while it is written, so a reader on any machine follows
 * it live: bytes are held for at most `flushMs` (or until a chunk is full) and sent one chunk at a time, in order,
 * with gap-free seqs. A store that does not answer never fails the attempt: the chunk is tried again with backoff
 * while newer bytes wait, up to `maxHeldBytes`; what does not fit is replaced by one line saying how much is missing
 * (the runner's log file has it). `close` sends the tail.
 */
export class LogShipper {
  private readonly flushMs: number;
  private readonly chunkBytes: number;
  private readonly maxHeldBytes: number;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private droppedBytes = 0;
  private nextSeq: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closeDeadline: number | undefined;
  private failing = false;
  /** The store refused the log for good (an error that says a retry would fail too): it goes to the file only. */
  private refused = false;

  constructor(private readonly shipping: LogShipping) {
    this.flushMs = shipping.flushMs ?? 250;
    this.chunkBytes = shipping.chunkBytes ?? 256 * 1024;
    this.maxHeldBytes = shipping.maxHeldBytes ?? 8 * 1024 * 1024;
    if (shipping.freshAttempt) this.nextSeq = 0;
  }

  push(bytes: Buffer): void {
    if (bytes.length === 0 || this.closeDeadline !== undefined || this.refused) return;
    if (this.heldBytes + bytes.length > this.maxHeldBytes) {
      this.droppedBytes += bytes.length;
      return;
    }
    this.noteDropped();
    this.hold(bytes);
    this.schedule(this.heldBytes >= this.chunkBytes ? 0 : this.flushMs);
  }

  /** Sends what is held, trying for up to `closeWithinMs`; never throws. */
  async close(): Promise<void> {
    this.closeDeadline = Date.now() + (this.shipping.closeWithinMs ?? 10_000);
    this.noteDropped();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.drain();
    if (this.heldBytes > 0)
      this.shipping.warn?.(
        `${this.heldBytes} bytes at the end of the log of ${describe(this.shipping.address)} were not stored: the store did not take them in time (the runner's log file has them)`,
      );
  }

  private hold(bytes: Buffer): void {
    this.held.push(bytes);
    this.heldBytes += bytes.length;
  }

  /** Where bytes were dropped, the log says so, in their place. */
  private noteDropped(): void {
    if (this.droppedBytes === 0) return;
    this.hold(
      Buffer.from(
        `\n[maestro] ${this.droppedBytes} bytes of this log are missing here: the store did not take them in time (the runner's log file has them)\n`,
      ),
    );
    this.droppedBytes = 0;
  }

  private schedule(delayMs: number): void {
    if (this.flushing || (this.timer && delayMs > 0)) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A full chunk goes at once; the bytes after it wait for the next flush.
      this.flushing = this.drain(delayMs > 0).finally(() => {
        this.flushing = undefined;
        if (this.heldBytes > 0 && this.closeDeadline === undefined)
          this.schedule(this.heldBytes >= this.chunkBytes ? 0 : this.flushMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Sends full chunks, and with `all` what else was held when it began; while closing, everything (until the
   * deadline).
   */
  private async drain(all = true): Promise<void> {
    let owed = all ? this.heldBytes : this.heldBytes - (this.heldBytes % this.chunkBytes);
    for (let retryMs = FIRST_RETRY_MS; this.heldBytes > 0;) {
      if (owed <= 0 && this.heldBytes < this.chunkBytes && this.closeDeadline === undefined) return;
      const chunk = this.peek();
      const sent = await this.send(chunk);
      if (this.refused) return;
      if (sent) {
        this.take(chunk.length);
        owed -= chunk.length;
        retryMs = FIRST_RETRY_MS;
        continue;
      }
      if (this.closeDeadline !== undefined && Date.now() + retryMs > this.closeDeadline) return;
      await sleep(retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
  }

  private async send(data: Buffer): Promise<boolean> {
    const { blobs, address } = this.shipping;
    try {
      this.nextSeq ??= await this.firstSeq();
      const at = (this.shipping.now?.() ?? new Date()).toISOString();
      await blobs.appendLogChunk({ ...address, seq: this.nextSeq, data, at });
      this.nextSeq += 1;
      if (this.failing) this.shipping.warn?.(`the store takes the log of ${describe(address)} again`);
      this.failing = false;
      return true;
    } catch (error) {
      if (isMaestroError(error) && !error.retryable) {
        this.refused = true;
        this.take(this.heldBytes);
        this.shipping.warn?.(
          `the store refused the log of ${describe(address)} (${error.message}); the rest of it is in this file only`,
        );
        return false;
      }
      if (!this.failing)
        this.shipping.warn?.(
          `the store did not take the log of ${describe(address)} (${error instanceof Error ? error.message : String(error)}); trying again`,
        );
      this.failing = true;
      return false;
    }
  }

  /**
   * The seq this attempt's log goes on from: 0, unless a runner that lost the attempt's lease stored chunks of it
   * (a takeover keeps the attempt number), whose log this one continues.
   */
  private async firstSeq(): Promise<number> {
    let last = -1;
    for (;;) {
      const page = await this.shipping.blobs.listLogChunks(this.shipping.address, last, SEQ_PAGE);
      if (page.length > 0) last = page.at(-1)!.seq;
      if (page.length < SEQ_PAGE) return last + 1;
    }
  }

  /** The first chunk's worth of held bytes, left held until the store has it. */
  private peek(): Buffer {
    const first = this.held[0]!;
    if (first.length >= this.chunkBytes) return first.subarray(0, this.chunkBytes);
    const parts: Buffer[] = [];
    let size = 0;
    for (const part of this.held) {
      if (size + part.length > this.chunkBytes) {
        parts.push(part.subarray(0, this.chunkBytes - size));
        size = this.chunkBytes;
        break;
      }
      parts.push(part);
      size += part.length;
    }
    return Buffer.concat(parts, size);
  }

  private take(bytes: number): void {
    this.heldBytes -= bytes;
    while (bytes > 0) {
      const first = this.held[0]!;
      if (first.length <= bytes) {
        this.held.shift();
        bytes -= first.length;
      } else {
        this.held[0] = first.subarray(bytes);
        bytes = 0;
      }
    }
  }
}

function describe(address: LogAddress): string {
  return `step ${address.key} (attempt ${address.attempt}) of run ${address.run_id}`;
}
