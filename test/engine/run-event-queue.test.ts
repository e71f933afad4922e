import { describe, expect, it } from 'vitest';
import type { EventDocument, Plan, StepDocument } from '../../src/generated/schemas.js';
import { MaestroError } from '../../src/domain/errors.js';
import { Engine } from '../../src/maestro-engine.js';
import { wrapOperations } from '../../src/store/operation-proxy.js';
import { openStore } from '../../src/store/open.js';
import type { NewEvent, RunStore } from '../../src/store/port.js';

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
    { id: 'b', uses: 'noop', needs: ['a'] },
  ],
};

async function startChain(store: RunStore, leaseMs = 5_000): Promise<{ engine: Engine; runId: string }> {
  const engine = new Engine({ store, workspace: process.cwd(), pollMs: 20, leaseMs });
  engine.registerHandler('flaky', ({ attempt }) => {
    if (attempt === 1) throw new Error('not yet');
    return {};
  });
  const { plan } = await engine.applyPlan(chain);
  const { run } = await engine.startRun(plan);
  return { engine, runId: run.run_id };
}

describe('events written behind the state changes of a run', () => {
  it('lets the next step start before the last event is stored, but never a step change before its own events', async () => {
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
    // Per step, each write waits for the events of the writes before it: writes and events alternate.
    expect(log.filter((entry) => / a$/.test(entry))).toEqual([
      'claimStep a',
      'stored step.started a',
      'updateStep a',
      'stored step.retrying a',
      'claimStep a',
      'stored step.started a',
      'updateStep a',
      'stored step.succeeded a',
    ]);
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
    const next = new Engine({ store, workspace: process.cwd(), pollMs: 20, leaseMs: 300 });
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
