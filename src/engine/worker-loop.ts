import type { RunDocument } from '../generated/schemas.js';
import { addMs, isoNow, sleepOn, type Clock } from '../domain/clock.js';
import type { LeaseRequest, RunStore } from '../store/port.js';

/** What a worker's loop needs of the engine. */
export interface WorkerLoopParts {
  store: RunStore;
  clock: Clock;
  pollMs: number;
  leaseRequest: () => LeaseRequest;
  /** Whether a claimed run may go on now (its concurrency group has room). */
  mayGoOn: (run: RunDocument) => Promise<boolean>;
  drive: (run: RunDocument) => Promise<RunDocument>;
}

export interface WorkOptions {
  signal: AbortSignal;
  maxRuns?: number;
  onError?: (error: unknown) => void;
}

/**
 * A worker: claims runs that no live runner holds (new ones from the API or `--detach`, or those of a dead
 * runner) and drives them, up to `maxRuns` at once, until the signal aborts; then finishes what it has.
 */
export async function workLoop(parts: WorkerLoopParts, options: WorkOptions): Promise<void> {
  const active = new Set<Promise<unknown>>();
  const maxRuns = options.maxRuns ?? 4;
  while (!options.signal.aborted) {
    if (active.size >= maxRuns) {
      await Promise.race(active);
      continue;
    }
    let claimed: RunDocument | undefined;
    try {
      claimed = await parts.store.claimRun(undefined, parts.leaseRequest());
    } catch (error) {
      options.onError?.(error);
    }
    if (!claimed) {
      await sleepOn(parts.clock, parts.pollMs, options.signal);
      continue;
    }
    if (!(await parts.mayGoOn(claimed).catch(() => false))) {
      // Queued behind its group: its lease is held a little longer, so no runner claims it again until then.
      const until = addMs(isoNow(parts.clock), Math.max(parts.pollMs * 2, 250));
      await parts.store.renewRunLease(claimed.run_id, claimed.lease!, until).catch(() => false);
      continue;
    }
    const driving = parts
      .drive(claimed)
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => active.delete(driving));
    active.add(driving);
  }
  await Promise.allSettled(active);
}
