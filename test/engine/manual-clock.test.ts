import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Plan, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { ManualClock } from '../../src/domain/manual-clock.js';
import { Engine } from '../../src/maestro-engine.js';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';

const START = '2026-03-01T12:00:00.000Z';

/**
 * Lets the event loop run (store calls are real I/O) and, while `done` is false, moves the clock on by `stepMs`.
 * Bounded: a condition that never comes fails the test instead of hanging it.
 */
async function until(done: () => Promise<boolean>, clock?: ManualClock, stepMs = 200): Promise<void> {
  for (let round = 0; round < 2_000; round += 1) {
    for (let i = 0; i < 5; i += 1) await turn();
    if (await done()) return;
    clock?.advance(stepMs);
  }
  throw new Error('the condition was not reached');
}

async function onlyStep(store: RunStore, runId: string): Promise<StepDocument> {
  const [step] = await store.listSteps(runId);
  return step!;
}

async function startedRun(engine: Engine, plan: Plan): Promise<RunDocument> {
  const planDoc = (await engine.applyPlan(plan)).plan;
  return (await engine.startRun(planDoc)).run;
}

describe('time through the injected clock', () => {
  it('waits out a one-minute retry backoff on a manual clock, with no real waiting', async () => {
    const store = await openStore('memory://');
    const clock = new ManualClock(START);
    const engine = new Engine({ store, clock, pollMs: 200 });
    const attempts: string[] = [];
    engine.registerHandler('flaky', ({ attempt }) => {
      attempts.push(`${attempt}@${clock.now().toISOString()}`);
      if (attempt === 1) throw new Error('not yet');
      return { ok: true };
    });
    const run = await startedRun(engine, {
      name: 'backoff',
      steps: [
        {
          id: 'f',
          uses: 'handler',
          with: { handler: 'flaky' },
          retry: { max_attempts: 2, backoff_ms: 60_000, backoff_factor: 1 },
        },
      ],
    });
    const ended = engine.executeRun(run.run_id);

    await until(async () => (await onlyStep(store, run.run_id)).ready_at !== undefined);
    const waiting = await onlyStep(store, run.run_id);
    expect(waiting).toMatchObject({ status: 'pending', attempt: 1, ready_at: '2026-03-01T12:01:00.000Z' });

    // A second short of the backoff: polls come and go, the step stays put.
    clock.advance(59_000);
    await until(async () => true);
    expect(attempts).toEqual([`1@${START}`]);
    expect((await onlyStep(store, run.run_id)).status).toBe('pending');

    clock.advance(1_000);
    await until(async () => (await store.getRun(run.run_id))?.status === 'succeeded', clock);
    expect(attempts).toEqual([`1@${START}`, '2@2026-03-01T12:01:00.000Z']);
    expect(await ended).toMatchObject({ status: 'succeeded' });
    expect(await onlyStep(store, run.run_id)).toMatchObject({ status: 'succeeded', attempt: 2 });
    engine.close();
  });

  it('takes over a step whose runner stopped renewing its lease, once the lease has run out on the clock', async () => {
    const store = await openStore('memory://');
    const clockA = new ManualClock(START);
    const clockB = new ManualClock(START);
    const leaseMs = 30_000;
    const runnerA = new Engine({ store, clock: clockA, leaseMs, pollMs: 200, runnerId: 'runner-a' });
    const runnerB = new Engine({ store, clock: clockB, leaseMs, pollMs: 200, runnerId: 'runner-b' });
    // Runner A hangs in the step and its clock never moves again: no renewal, as if the process had frozen.
    runnerA.registerHandler('work', () => new Promise(() => undefined));
    runnerB.registerHandler('work', ({ attempt }) => ({ finished_by: 'runner-b', attempt }));
    const run = await startedRun(runnerA, {
      name: 'takeover',
      steps: [{ id: 'w', uses: 'handler', with: { handler: 'work' } }],
    });
    void runnerA.executeRun(run.run_id);
    await until(async () => (await onlyStep(store, run.run_id)).lease?.owner === 'runner-a');
    runnerA.close();

    const stop = new AbortController();
    const working = runnerB.work({ signal: stop.signal });
    // Before the lease runs out, runner B leaves the run alone.
    clockB.advance(leaseMs - 1_000);
    await until(async () => true);
    expect((await store.getRun(run.run_id))?.lease?.owner).toBe('runner-a');

    await until(async () => (await store.getRun(run.run_id))?.status === 'succeeded', clockB);
    stop.abort();
    clockB.advance(1_000);
    await working;
    const step = await onlyStep(store, run.run_id);
    // A takeover continues the attempt the dead runner started (its fence moves on, its number does not).
    expect(step).toMatchObject({ status: 'succeeded', attempt: 1, outputs: { finished_by: 'runner-b', attempt: 1 } });
    expect(step.lease?.owner).toBe('runner-b');
    const events = await store.listEvents(run.run_id, 0, 100);
    expect(events.filter((e) => e.type === 'step.started').map((e) => e.data)).toEqual([
      { key: 'w', attempt: 1 },
      { key: 'w', attempt: 1, takeover: true },
    ]);
    expect(Date.parse(step.ended_at!) - Date.parse(START)).toBeGreaterThanOrEqual(leaseMs);
    runnerB.close();
  });
});
