import { describe, expect, it } from 'vitest';
import type { EventDocument } from '../../src/generated/schemas.js';
import { MaestroError } from '../../src/domain/errors.js';
import { wrapOperations } from '../../src/store/operation-proxy.js';
import type { NewEvent } from '../../src/store/port.js';
import { testBackends, type TestBackend } from '../support/backends.js';
import { createHarness, harnessForEachTest } from '../support/engine-harness.js';

const END_TYPES: readonly string[] = ['run.succeeded', 'run.failed', 'run.cancelled'];

describe.each(testBackends())('a run ended without its end event, on $name', (backend: TestBackend) => {
  const h = harnessForEachTest(backend);

  /** Runs a one-step plan on a runner whose store refuses the run's end event, as a runner killed right then. */
  async function endWithoutEndEvent(): Promise<string> {
    const dying = wrapOperations(h.store, (name, call) =>
      name === 'appendEvent'
        ? async (...args: unknown[]) => {
            if (END_TYPES.includes((args[0] as NewEvent).type))
              throw new MaestroError('STORE_UNAVAILABLE', 'killed before the end event was stored');
            return call(...args);
          }
        : undefined,
    );
    const first = createHarness(dying);
    try {
      const planDoc = await first.engine.applyPlanFile(
        first.writePlan({ name: 'ends-unrecorded', steps: [{ id: 'only', uses: 'noop' }] }),
      );
      const { run } = await first.engine.startRun(planDoc);
      await expect(first.engine.executeRun(run.run_id)).rejects.toThrow('killed before the end event was stored');
      expect((await h.store.getRun(run.run_id))?.status).toBe('succeeded');
      expect((await h.store.listEvents(run.run_id, 0, 100)).map((e) => e.type)).not.toContain('run.succeeded');
      return run.run_id;
    } finally {
      first.engine.close();
    }
  }

  const typesOf = (events: EventDocument[]) => events.map((event) => event.type);

  it('is given it, once, by the runner that resumes it, and its hooks receive it', async () => {
    const runId = await endWithoutEndEvent();
    const seen: string[] = [];
    h.engine.registerHook(
      { name: 'recorder', on: { '*': (event: EventDocument) => void seen.push(event.type) } },
      {
        always: true,
      },
    );
    expect((await h.engine.executeRun(runId))?.status).toBe('succeeded');
    expect((await h.engine.executeRun(runId))?.status).toBe('succeeded');
    const events = await h.store.listEvents(runId, 0, 100);
    expect(typesOf(events).filter((type) => type === 'run.succeeded')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'run.succeeded', data: { status: 'succeeded' } });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(seen.at(-1)).toBe('run.succeeded');
    expect(seen.filter((type) => type === 'run.succeeded')).toHaveLength(1);
  });

  it('is stored once when two runners resume it at the same time', async () => {
    const runId = await endWithoutEndEvent();
    const other = createHarness(h.store);
    try {
      await Promise.all([h.engine.executeRun(runId), other.engine.executeRun(runId)]);
    } finally {
      other.engine.close();
    }
    const events = await h.store.listEvents(runId, 0, 100);
    expect(typesOf(events).filter((type) => type === 'run.succeeded')).toHaveLength(1);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('a run whose end event has an id of its own (ended by an older version) gets no second one after an artifact', async () => {
    const runId = await endWithoutEndEvent();
    const run = (await h.store.getRun(runId))!;
    await h.store.appendEvent({
      run_id: runId,
      type: 'run.succeeded',
      at: run.ended_at!,
      data: { status: 'succeeded', usage: run.usage },
    });
    await h.engine.attachArtifact(runId, { type: 'report', location: 'https://example.com/report.pdf' });
    const before = await h.store.listEvents(runId, 0, 100);
    await h.engine.executeRun(runId);
    expect(await h.store.listEvents(runId, 0, 100)).toEqual(before);
  });

  it('a run that ended with its end event gets no second one, also with an artifact attached after it', async () => {
    const { run } = await h.runPlan({ name: 'ends-recorded', steps: [{ id: 'only', uses: 'noop' }] });
    await h.engine.attachArtifact(run.run_id, { type: 'report', location: 'https://example.com/report.pdf' });
    const before = await h.store.listEvents(run.run_id, 0, 100);
    await h.engine.executeRun(run.run_id);
    expect(before.at(-1)?.type).toBe('artifact.attached');
    expect(await h.store.listEvents(run.run_id, 0, 100)).toEqual(before);
  });
});
