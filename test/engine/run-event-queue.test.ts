import { describe, expect, it } from 'vitest';
import type { EventDocument, Plan, StepDocument } from '../../src/generated/schemas.js';
import { MaestroError } from '../../src/domain/errors.js';
import { recordMissingEvents } from '../../src/engine/run-loop/recovered-events.js';
import { EventBus } from '../../src/events/event-bus.js';
import { Engine } from '../../src/maestro-engine.js';
import { wrapOperations } from '../../src/store/operation-proxy.js';
import { openStore } from '../../src/store/open.js';
import type { NewEvent, RunStore } from '../../src/store/port.js';
import { makeRun, makeStep } from '../support/documents.js';

/** The step key an event is about, or '' for a run's event. */
const keyOf = (event: EventDocument): string => (typeof event.data.key === 'string' ? event.data.key : '');

type Operation = (...args: unknown[]) => Promise<unknown>;

/** The events of a call to appendEvent or appendEvents. */
function eventsOf(name: string, args: unknown[]): NewEvent[] {
  return name === 'appendEvents'
    ? (args[0] as Array<{ event: NewEvent }>).map((item) => item.event)
    : [args[0] as NewEvent];
}

/**
 * A memory store that logs, in order, each step write as it is asked for and each event as it is stored; `hold`
 * may keep an event write waiting (until the promise it returns resolves), `fail` may refuse one.
 */
async function loggingStore(
  log: string[],
  options: {
    hold?: (event: NewEvent) => Promise<void> | undefined;
    fail?: (event: NewEvent) => boolean;
    onEntry?: (entry: string) => void;
  } = {},
): Promise<RunStore> {
  const store = await openStore('memory://');
  const record = (entry: string): void => {
    log.push(entry);
    options.onEntry?.(entry);
  };
  return wrapOperations(store, (name, call): Operation | undefined => {
    if (name === 'claimStep' || name === 'updateStep')
      return async (...args) => {
        const written = (await call(...args)) as StepDocument | undefined;
        if (written) record(`${name} ${written.key}`);
        return written;
      };
    if (name === 'updateRun')
      return async (...args) => {
        record(`updateRun ${String((args[2] as { status?: string }).status)}`);
        return call(...args);
      };
    if (name === 'appendEvent' || name === 'appendEvents')
      return async (...args) => {
        const events = eventsOf(name, args);
        for (const event of events) await options.hold?.(event);
        if (events.some((event) => options.fail?.(event)))
          throw new MaestroError('INTERNAL', 'the event write failed', { retryable: false });
        const stored = [(await call(...args)) as EventDocument | EventDocument[]].flat();
        for (const event of stored) record(`stored ${event.type} ${keyOf(event)}`.trim());
        return stored.length === 1 && name === 'appendEvent' ? stored[0] : stored;
      };
    return undefined;
  });
}

const chain: Plan = {
  name: 'chain',
  steps: [
    { id: 'a', uses: 'handler', with: { handler: 'flaky' }, retry: { max_attempts: 2, backoff_ms: 1 } },
    // b takes a while: a failed event write (written one turn of the event loop behind) stops the runner during it.
    { id: 'b', uses: 'handler', with: { handler: 'slow' }, needs: ['a'] },
  ],
};

function chainEngine(store: RunStore, leaseMs: number): Engine {
  const engine = new Engine({ store, workspace: process.cwd(), pollMs: 20, leaseMs });
  engine.registerHandler('flaky', ({ attempt }) => {
    if (attempt === 1) throw new Error('not yet');
    return {};
  });
  engine.registerHandler('slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return {};
  });
  return engine;
}

async function startChain(store: RunStore, leaseMs = 5_000): Promise<{ engine: Engine; runId: string }> {
  const engine = chainEngine(store, leaseMs);
  const { plan } = await engine.applyPlan(chain);
  const { run } = await engine.startRun(plan);
  return { engine, runId: run.run_id };
}

describe('events written behind the state changes of a run', () => {
  it("has the next runner write what a killed one left unwritten: an ended attempt's start, a step's last change", async () => {
    const store = await openStore('memory://');
    const run = makeRun({ status: 'running' });
    const ended = makeStep(run.run_id, 'ended', { status: 'succeeded', attempt: 2, max_attempts: 2 });
    const retrying = makeStep(run.run_id, 'retrying', { status: 'pending', attempt: 1, max_attempts: 3 });
    const running = makeStep(run.run_id, 'running', { status: 'running', attempt: 1 });
    const skipped = makeStep(run.run_id, 'skipped', { status: 'skipped', skip_reason: 'condition_false' });
    await store.createRun(run, [ended, retrying, running, skipped]);
    const bus = new EventBus(store);
    // What the killed runner had stored: the first attempt of `ended`, start and retry.
    await bus.record(run.run_id, 'step.started', { key: 'ended', attempt: 1 }, ended.step_id);
    await bus.record(run.run_id, 'step.retrying', { key: 'ended', attempt: 1 }, ended.step_id);

    await recordMissingEvents(store, bus, run.run_id, [ended, retrying, running, skipped]);
    const events = await store.listEvents(run.run_id, 0, 100);
    expect(
      events.slice(2).map((event) => [event.type, event.data.key, event.data.attempt, event.data.recovered]),
    ).toEqual([
      ['step.started', 'ended', 2, true],
      ['step.succeeded', 'ended', 2, true],
      ['step.started', 'retrying', 1, true],
      ['step.retrying', 'retrying', 1, true],
      ['step.skipped', 'skipped', undefined, true],
    ]);
    // Written once: a second resume finds them.
    await recordMissingEvents(store, bus, run.run_id, [ended, retrying, running, skipped]);
    expect(await store.listEvents(run.run_id, 0, 100)).toHaveLength(events.length);
  });

  it('lets the next step start before the last event is stored, but never a retry before the events of the attempt before it', async () => {
    const log: string[] = [];
    let claimedB: () => void = () => undefined;
    const bClaimed = new Promise<void>((resolve) => (claimedB = resolve));
    const store = await loggingStore(log, {
      // a's success event is held until b is claimed (at most 2 s): only a runner that does not wait for it gets there.
      hold: (event) =>
        event.type === 'step.succeeded' && event.data.key === 'a'
          ? Promise.race([bClaimed, new Promise<void>((resolve) => setTimeout(resolve, 2_000))])
          : undefined,
      onEntry: (entry) => entry === 'claimStep b' && claimedB(),
    });
    const { engine, runId } = await startChain(store);
    const emitted: string[] = [];
    engine.events.on('event', (event) => emitted.push(`${event.type} ${keyOf(event)}`.trim()));
    const run = await engine.executeRun(runId);
    engine.close();

    expect(run?.status).toBe('succeeded');
    expect(log.indexOf('claimStep b')).toBeLessThan(log.indexOf('stored step.succeeded a'));
    // Each event is stored after its write; a retry's claim waits for the events of the attempt before it.
    const at = (entry: string, nth = 0): number => log.flatMap((e, i) => (e === entry ? [i] : []))[nth] ?? -1;
    expect(at('stored step.retrying a')).toBeGreaterThan(at('updateStep a'));
    expect(at('claimStep a', 1)).toBeGreaterThan(at('stored step.retrying a'));
    expect(at('claimStep a', 1)).toBeGreaterThan(at('stored step.started a'));
    expect(at('stored step.succeeded a')).toBeGreaterThan(at('updateStep a', 1));
    expect(log.filter((entry) => entry === 'stored step.started a')).toHaveLength(2);
    // The run ends after every event of its steps is stored; each event is announced once stored, in seq order.
    const ended = log.indexOf('updateRun succeeded');
    expect(log.slice(ended + 1)).toEqual(['stored run.succeeded']);
    const stored = log.filter((entry) => entry.startsWith('stored ')).map((entry) => entry.slice('stored '.length));
    expect(emitted).toEqual(stored.filter((entry) => entry !== 'run.created'));
    const events = await store.listEvents(runId, 0, 100);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('stops a runner whose event write failed, resumably: the next runner ends the run with every event', async () => {
    const log: string[] = [];
    let failing = true;
    const store = await loggingStore(log, {
      fail: (event) => failing && event.type === 'step.succeeded' && event.data.key === 'a',
    });
    const { engine, runId } = await startChain(store, 300);
    await expect(engine.executeRun(runId)).rejects.toThrow('the event write failed');
    engine.close();
    expect((await store.getRun(runId))?.status).toBe('running');

    failing = false;
    const next = chainEngine(store, 300);
    const run = await next.executeRun(runId);
    next.close();
    expect(run?.status).toBe('succeeded');
    const events = await store.listEvents(runId, 0, 100);
    const succeeded = events.filter((event) => event.type === 'step.succeeded');
    expect(succeeded.map((event) => [event.data.key, event.data.recovered])).toEqual([
      ['a', true],
      ['b', undefined],
    ]);
  });
});
