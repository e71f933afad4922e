import { getEventListeners } from 'node:events';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/manual-clock.js';
import { SCHEDULE_POLL_MS } from '../../src/engine/schedules/scheduler.js';
import { Engine } from '../../src/maestro-engine.js';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';

const TICKS = 1_000;

/** The store, counting how often the scheduler looks for due schedules (once per tick). */
function countingLooks(store: RunStore): { store: RunStore; looks: () => number } {
  let looks = 0;
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (name === 'dueSchedules' && typeof value === 'function')
        return (...args: unknown[]) => {
          looks += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return { store: counted, looks: () => looks };
}

/** Lets the loop's store call and wait settle; bounded, so a tick that never comes fails instead of hanging. */
async function untilLooks(looks: () => number, expected: number): Promise<void> {
  for (let i = 0; i < 200 && looks() < expected; i += 1) await turn();
  expect(looks()).toBe(expected);
}

describe('the schedule loop of a worker or server', () => {
  it(`waits on the engine's clock and leaves the abort listeners flat over ${TICKS} ticks`, async () => {
    const memory = await openStore('memory://');
    const { store, looks } = countingLooks(memory);
    const clock = new ManualClock('2026-03-01T12:00:00.000Z');
    const engine = new Engine({ store, clock });
    const stop = new AbortController();
    const loop = engine.runSchedules(stop.signal, { skipped: () => undefined, failed: () => undefined });
    try {
      let most = 0;
      for (let tick = 1; tick <= TICKS; tick += 1) {
        await untilLooks(looks, tick);
        // Now the loop waits for its next tick.
        for (let i = 0; i < 3; i += 1) await turn();
        most = Math.max(most, getEventListeners(stop.signal, 'abort').length);
        clock.advance(SCHEDULE_POLL_MS);
      }
      expect(most).toBe(1);
      stop.abort();
      await loop;
      expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
      expect(clock.pendingTimers).toBe(0);
    } finally {
      stop.abort();
      engine.close();
      await memory.close();
    }
  }, 30_000);
});
