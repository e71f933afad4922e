import { setTimeout as sleep } from 'node:timers/promises';
import { isMaestroError } from '../domain/errors.js';
import { wrapOperations } from './operation-proxy.js';
import type { RunStore } from './port.js';

export interface OutagePolicy {
  /** How long a store may stay unreachable before the operation fails (and the run with it, resumably). */
  limitMs: number;
  /** Told about each retry, e.g. to log the outage. */
  onRetry?: (error: Error, attempt: number, delayMs: number, operation: string) => void;
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

/**
 * The same store, whose operations wait out an outage (STORE_UNAVAILABLE) with exponential backoff, up to a
 * limit. Every port operation is safe to repeat: guarded writes apply once, inserts are keyed, appends of events
 * recognise their own earlier write.
 */
export function retryOnOutage(store: RunStore, policy: OutagePolicy): RunStore {
  const retrying = async <T>(name: string, operation: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    let delay = FIRST_DELAY_MS;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await operation();
      } catch (error) {
        if (!isMaestroError(error, 'STORE_UNAVAILABLE') || Date.now() - started + delay > policy.limitMs) throw error;
        policy.onRetry?.(error, attempt, delay, name);
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
      }
    }
  };
  // close ends the store; ping must say "down" now, not after the outage (readiness).
  return wrapOperations(store, (name, call) =>
    name === 'close' || name === 'ping' ? undefined : (...args) => retrying(name, () => call(...args)),
  );
}
