import { MaestroError } from '../domain/errors.js';
import type { Principal } from './auth.js';

/** How many streams (SSE, followed logs) may be open at once, and how long one may keep a client that does not read. */
export interface StreamLimits {
  /** Per token, counted by the token it is however the header spells it. */
  perToken: number;
  /** Per owner, over all its tokens: one owner never takes the whole server from the others. */
  perOwner: number;
  perServer: number;
  /** A stream whose writes have not drained this long is closed: its client does not read. */
  slowClientMs: number;
  /** Store reads for streams at once, server-wide: many streams catching up never starve other requests. */
  concurrentReads: number;
}

/** The longest pause between two queued stream reads (a slow store read does not stall the streams for long). */
const MAX_PAUSE_MS = 100;

export const DEFAULT_STREAM_LIMITS: StreamLimits = Object.freeze({
  perToken: 10,
  perOwner: 50,
  perServer: 200,
  slowClientMs: 2_000,
  concurrentReads: 1,
});

/**
 * Counts open streams per token, per owner and in all; a stream over a limit is refused before it opens. Also
 * takes turns for the streams' store reads, so that they queue among themselves rather than ahead of other requests,
 * and lets streams that want the same read (every idle stream of a run polls for what follows its last event) share
 * one: many streams on a long run cost one read per poll, not one each.
 */
export class StreamSlots {
  readonly limits: StreamLimits;
  private total = 0;
  private readonly byToken = new Map<string, number>();
  private readonly byOwner = new Map<string, number>();
  private reading = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(limits: Partial<StreamLimits> = {}) {
    this.limits = Object.freeze({ ...DEFAULT_STREAM_LIMITS, ...limits });
  }

  /** Takes a slot for the caller, or throws TOO_MANY_STREAMS (429); the returned function gives it back once. */
  acquire(principal: Principal): () => void {
    const { perToken, perOwner, perServer } = this.limits;
    const token = this.byToken.get(principal.tokenId) ?? 0;
    const owner = this.byOwner.get(principal.owner) ?? 0;
    const full =
      token >= perToken
        ? `${perToken} per token`
        : owner >= perOwner
          ? `${perOwner} per owner`
          : this.total >= perServer
            ? `${perServer} per server`
            : undefined;
    if (full)
      throw new MaestroError(
        'TOO_MANY_STREAMS',
        `too many open event streams (at most ${full}); close one or poll the JSON form`,
        { retryable: true, details: { limit: full } },
      );
    this.total += 1;
    this.byToken.set(principal.tokenId, token + 1);
    this.byOwner.set(principal.owner, owner + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      decrement(this.byToken, principal.tokenId);
      decrement(this.byOwner, principal.owner);
    };
  }

  /**
   * A stream's store read: the one already waiting or under way for the same key, or a new one run when it is its
   * turn (at most `concurrentReads` at once, first come first served).
   */
  read<T>(key: string, work: () => Promise<T>): Promise<T> {
    const shared = this.pending.get(key) as Promise<T> | undefined;
    if (shared) return shared;
    const result = this.inTurn(work).finally(() => this.pending.delete(key));
    this.pending.set(key, result);
    return result;
  }

  private async inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (this.reading >= this.limits.concurrentReads) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else {
      this.reading += 1;
      // Even unqueued, a read starts on the loop's next turn: pending I/O (new connections) comes first.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const started = performance.now();
    try {
      return await work();
    } finally {
      // The turn passes to the next in line (the count stays as it is) after a pause as long as this turn took:
      // streams that queue for reads get at most about half of the server's time, and new connections, /healthz
      // and other requests get the rest, however many streams wait.
      const next = this.waiting.shift();
      if (next) setTimeout(next, Math.min(MAX_PAUSE_MS, performance.now() - started));
      else this.reading -= 1;
    }
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}
