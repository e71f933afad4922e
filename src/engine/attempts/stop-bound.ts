import type { Clock } from '../../domain/clock.js';
import { MaestroError } from '../../domain/errors.js';

/** A stopped `exec` step's process group gets SIGTERM, then SIGKILL this long after. */
export const KILL_GRACE_MS = 2_000;
/**
 * An attempt whose executor has not returned this long after its signal aborted is recorded as stopped anyway, so
 * a run settles promptly; a handler that ignores its signal runs on in the background and its result is discarded.
 */
export const SETTLE_BOUND_MS = KILL_GRACE_MS + 3_000;

/** The executor's result, or the abort reason once SETTLE_BOUND_MS has passed since the signal aborted. */
export function settleWithinBound<T>(work: Promise<T>, signal: AbortSignal, clock: Clock): Promise<T> {
  let cancelTimer: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  const bound = new Promise<never>((_, reject) => {
    onAbort = () => {
      cancelTimer = clock.setTimer(
        () =>
          reject(signal.reason instanceof MaestroError ? signal.reason : new MaestroError('CANCELLED', 'step stopped')),
        SETTLE_BOUND_MS,
        { unref: true },
      );
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, bound]).finally(() => {
    cancelTimer?.();
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}
