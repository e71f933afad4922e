import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_API_KINDS, onlyKinds } from '../../src/engine/trust/kind-policy.js';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';
import { createHarness } from '../support/engine-harness.js';

/**
 * A runner that allows fewer kinds than a run does (an API server's runner beside a `maestro-run --detach` run)
 * leaves that run to a runner that allows them, instead of claiming it and failing its steps.
 */
describe('a worker takes only the runs whose kinds it allows', () => {
  let store: RunStore;
  const stops: AbortController[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) stop.abort();
    await store.close();
  });

  it('leaves a run with a step of a kind it does not allow to a worker that does, and takes the runs whose steps it allows', async () => {
    store = await openStore('memory://');
    const narrow = createHarness(store, { allowKinds: onlyKinds(DEFAULT_API_KINDS) });
    const local = await narrow.engine.applyPlanFile(
      narrow.writePlan({ name: 'local', steps: [{ id: 'a', uses: 'exec', with: { command: ['node', '-e', ''] } }] }),
    );
    const small = await narrow.engine.applyPlanFile(
      narrow.writePlan({ name: 'small', steps: [{ id: 'a', uses: 'noop' }] }),
    );
    // Recorded as the CLI records them: all kinds. The narrow worker takes the noop run, not the exec one.
    const { run: allKindsRun } = await narrow.engine.startRun(local, {});
    const { run: apiRun } = await narrow.engine.startRun(small, { allowedKinds: ['noop'] });
    const { run: localNoopRun } = await narrow.engine.startRun(small, {});
    expect(allKindsRun.allowed_kinds).toBe('all');

    const narrowStop = new AbortController();
    stops.push(narrowStop);
    const narrowWork = narrow.engine.work({ signal: narrowStop.signal });
    for (let i = 0; i < 100 && (await store.getRun(apiRun.run_id))!.status !== 'succeeded'; i += 1) await sleep(20);
    expect((await store.getRun(apiRun.run_id))!.status).toBe('succeeded');
    for (let i = 0; i < 100 && (await store.getRun(localNoopRun.run_id))!.status !== 'succeeded'; i += 1)
      await sleep(20);
    expect((await store.getRun(localNoopRun.run_id))!.status).toBe('succeeded');
    // Several polls later the narrow worker has still not taken the run it cannot cover.
    await sleep(300);
    const untouched = (await store.getRun(allKindsRun.run_id))!;
    expect(untouched.status).toBe('pending');

    const wide = createHarness(store);
    const wideStop = new AbortController();
    stops.push(wideStop);
    const wideWork = wide.engine.work({ signal: wideStop.signal });
    for (let i = 0; i < 200 && (await store.getRun(allKindsRun.run_id))!.status !== 'succeeded'; i += 1)
      await sleep(20);
    expect((await store.getRun(allKindsRun.run_id))!.status).toBe('succeeded');
    narrowStop.abort();
    wideStop.abort();
    await Promise.all([narrowWork, wideWork]);
  });
});
