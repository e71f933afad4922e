import { MaestroError } from '../domain/errors.js';

/** How many event streams may be open at once: each holds a socket and polls the store. */
export interface StreamLimits {
  perToken: number;
  perServer: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = Object.freeze({ perToken: 10, perServer: 200 });

/** Counts open SSE streams per caller and in all; a stream over either limit is refused before it opens. */
export class StreamSlots {
  private total = 0;
  private readonly byCaller = new Map<string, number>();

  constructor(private readonly limits: StreamLimits) {}

  /** Takes a slot for the caller, or throws TOO_MANY_STREAMS (429); the returned function gives it back once. */
  acquire(caller: string): () => void {
    const mine = this.byCaller.get(caller) ?? 0;
    if (mine >= this.limits.perToken || this.total >= this.limits.perServer) {
      const which =
        mine >= this.limits.perToken ? `${this.limits.perToken} per token` : `${this.limits.perServer} per server`;
      throw new MaestroError(
        'TOO_MANY_STREAMS',
        `too many open event streams (at most ${which}); close one or poll the JSON form`,
        {
          retryable: true,
          details: { limit: which },
        },
      );
    }
    this.total += 1;
    this.byCaller.set(caller, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.byCaller.get(caller) ?? 1) - 1;
      if (left <= 0) this.byCaller.delete(caller);
      else this.byCaller.set(caller, left);
    };
  }
}
