/**
 * Time in one place: what "now" is and when a timer fires. The engine reads both only through a Clock, so a test
 * can move time on (retry backoffs, lease expiry, budgets) without waiting for it.
 */
export interface Clock {
  now(): Date;
  /**
   * Calls `fire` once `ms` have passed and returns the function that cancels it. An `unref` timer does not keep
   * the process alive on its own (lease renewal, settle bounds).
   */
  setTimer(fire: () => void, ms: number, options?: { unref?: boolean }): () => void;
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer: (fire, ms, options) => {
    const timer = setTimeout(fire, ms);
    if (options?.unref) timer.unref();
    return () => clearTimeout(timer);
  },
};

export function isoNow(clock: Clock = systemClock): string {
  return clock.now().toISOString();
}

export function nowMs(clock: Clock): number {
  return clock.now().getTime();
}

export function addMs(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

/** Resolves after `ms` on the clock, or at once when the signal aborts (never rejects). */
export function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
