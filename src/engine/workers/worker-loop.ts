import type { RunDocument } from '../../generated/schemas.js';
import { addMs, isoNow, sleepOn, type Clock } from '../../domain/clock.js';
import type { LeaseRequest, RunStore } from '../../store/port.js';

/** How many declined runs a worker remembers; past it, it forgets them all and may decline each once more. */
const MAX_DECLINED = 1_000;

/** What a worker's loop needs of the engine. */
export interface WorkerLoopParts {
  store: RunStore;
  clock: Clock;
  pollMs: number;
  leaseRequest: () => LeaseRequest;
  /**
   * Whether this runner may execute every kind the run allows. A run it cannot is let go at once for a runner that
   * can (an API server's runner leaves a `maestro-run --detach` exec run to a worker instead of failing its steps).
   */
  covers: (run: RunDocument) => Promise<boolean>;
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
  // A run's kinds never change, nor this runner's: a declined run stays declined (bounded, forgotten when full).
  const declined = new Set<string>();
  while (!options.signal.aborted) {
    if (active.size >= maxRuns) {
      await Promise.race(active);
      continue;
    }
    let claimed: RunDocument | undefined;
    try {
      claimed = await parts.store.claimRun(undefined, parts.leaseRequest(), [...declined]);
    } catch (error) {
      options.onError?.(error);
    }
    if (!claimed) {
      await sleepOn(parts.clock, parts.pollMs, options.signal);
      continue;
    }
    if (!(await parts.covers(claimed).catch(() => false))) {
      if (declined.size >= MAX_DECLINED) declined.clear();
      declined.add(claimed.run_id);
      await parts.store.releaseRunLease(claimed.run_id, claimed.lease!).catch(() => false);
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
