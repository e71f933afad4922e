import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan, RunDocument } from '../../src/generated/schemas.js';
import { newId } from '../../src/domain/ids.js';
import { DEFAULT_API_KINDS, onlyKinds } from '../../src/engine/trust/kind-policy.js';
import { newRunDocuments } from '../../src/engine/runs/new-run.js';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';
import { startTestApi } from '../support/api-server.js';
import { createHarness, type Harness } from '../support/engine-harness.js';

const API_KINDS = [...DEFAULT_API_KINDS].sort();

/** A grandchild plan with an exec step that leaves a marker, behind a child plan that only starts it. */
function writeTree(h: Harness): Plan {
  h.writePlan(
    {
      name: 'leaf',
      steps: [
        { id: 'touch', uses: 'exec', with: { command: ['node', '-e', "require('fs').writeFileSync('ran', '')"] } },
      ],
    },
    'leaf.json',
  );
  h.writePlan(
    { name: 'leaf-shell', steps: [{ id: 'sh', uses: 'exec', with: { shell: true, command: ['touch ran-shell'] } }] },
    'leaf-shell.json',
  );
  h.writePlan(
    {
      name: 'middle',
      steps: [
        { id: 'leaf', uses: 'plan', continue_on_error: true, with: { plan: 'leaf.json' } },
        { id: 'leaf-shell', uses: 'plan', continue_on_error: true, with: { plan: 'leaf-shell.json' } },
      ],
    },
    'middle.json',
  );
  return { name: 'root', steps: [{ id: 'middle', uses: 'plan', with: { plan: 'middle.json' } }] };
}

/** Every run of the tree under `rootId`, by plan name. */
async function treeOf(store: RunStore, rootId: string): Promise<Map<string, RunDocument>> {
  const tree = new Map<string, RunDocument>();
  for (const queue = [rootId]; queue.length > 0;) {
    const run = (await store.getRun(queue.shift()!))!;
    tree.set(run.plan_name, run);
    queue.push(...(await store.listRuns({ parent_run_id: run.run_id }, { limit: 50 })).items.map((c) => c.run_id));
  }
  return tree;
}

async function stepsOf(store: RunStore, run: RunDocument) {
  return Object.fromEntries((await store.getRunDetail(run.run_id))!.steps.map((step) => [step.key, step]));
}

describe('a run carries the step kinds its origin allows', () => {
  let store: RunStore;
  beforeEach(async () => {
    store = await openStore('memory://');
  });
  afterEach(async () => {
    await store.close();
  });

  it('a grandchild run inherits them: its exec step fails KIND_FORBIDDEN on a runner that allows all kinds', async () => {
    const h = createHarness(store);
    const { plan } = await h.engine.applyPlan(writeTree(h));
    const { run } = await h.engine.startRun(plan, { allowedKinds: onlyKinds(DEFAULT_API_KINDS).kinds });
    await h.engine.executeRun(run.run_id);
    const tree = await treeOf(store, run.run_id);
    expect([...tree.keys()].sort()).toEqual(['leaf', 'leaf-shell', 'middle', 'root']);
    for (const child of tree.values()) expect(child.allowed_kinds).toEqual(API_KINDS);
    const touch = (await stepsOf(store, tree.get('leaf')!)).touch!;
    expect(touch).toMatchObject({ status: 'failed', attempt: 1, error_info: { code: 'kind_forbidden' } });
    expect(touch.error_info!.message).toContain('uses exec, which this run does not allow');
    expect(touch.error_info!.details).toMatchObject({ kind: 'exec', path: '$.steps[0].uses' });
    expect(existsSync(join(h.workspace, 'ran'))).toBe(false);
    expect(existsSync(join(h.workspace, 'ran-shell'))).toBe(false);
    h.engine.close();
  });

  it('a child run gets its parent kinds narrowed by the runner that starts it, and the runner still checks its own', async () => {
    // The runner allows exec but no shell; the root run (from the CLI) allows everything.
    const h = createHarness(store, { allowKinds: onlyKinds(['exec', 'noop', 'plan']) });
    const planDoc = await h.engine.applyPlanFile(h.writePlan(writeTree(h)));
    const { run } = await h.engine.startRun(planDoc);
    expect(run.allowed_kinds).toBe('all');
    await h.engine.executeRun(run.run_id);
    const tree = await treeOf(store, run.run_id);
    expect(tree.get('root')!.allowed_kinds).toBe('all');
    for (const name of ['middle', 'leaf', 'leaf-shell'])
      expect(tree.get(name)!.allowed_kinds).toEqual(['exec', 'noop', 'plan']);
    // exec is allowed by both and ran; the shell is refused by the run, which the runner narrowed.
    expect((await stepsOf(store, tree.get('leaf')!)).touch).toMatchObject({ status: 'succeeded' });
    const sh = (await stepsOf(store, tree.get('leaf-shell')!)).sh!;
    expect(sh).toMatchObject({ status: 'failed', error_info: { code: 'kind_forbidden' } });
    expect(sh.error_info!.message).toContain('uses shell, which this run does not allow');
    expect(existsSync(join(h.workspace, 'ran'))).toBe(true);
    expect(existsSync(join(h.workspace, 'ran-shell'))).toBe(false);
    h.engine.close();
  });

  it('a run from the CLI or code records all kinds; the runner refuses what it does not execute, naming itself', async () => {
    const h = createHarness(store, { allowKinds: onlyKinds(['noop']) });
    const { run, steps } = await h.runPlan({
      name: 'local',
      steps: [{ id: 'x', uses: 'exec', with: { command: ['true'] } }],
    });
    expect(run.allowed_kinds).toBe('all');
    expect(steps.x!.error_info!.message).toContain('uses exec, which this runner does not allow');
    h.engine.close();
  });

  it('a rerun keeps no more than the old run had, narrowed further by whoever asks for it', async () => {
    const h = createHarness(store);
    const { plan } = await h.engine.applyPlan({
      name: 'two',
      steps: [
        { id: 'a', uses: 'noop' },
        { id: 'b', uses: 'noop', needs: ['a'] },
      ],
    });
    const { run } = await h.engine.startRun(plan, { allowedKinds: ['noop', 'plan', 'sleep'] });
    await h.engine.executeRun(run.run_id);
    const local = await h.engine.rerunFrom(run.run_id, 'b');
    expect(local.allowed_kinds).toEqual(['noop', 'plan', 'sleep']);
    const narrowed = await h.engine.rerunFrom(run.run_id, 'b', { allowKinds: onlyKinds(['noop', 'http']) });
    expect(narrowed.allowed_kinds).toEqual(['noop']);
    h.engine.close();
  });

  it('a schedule passes its kinds to the runs of its ticks', async () => {
    const h = createHarness(store, { schedulerNow: () => new Date('2026-11-24T10:00:30Z') });
    const { plan } = await h.engine.applyPlan({ name: 'ticking', steps: [{ id: 'a', uses: 'noop' }] });
    const { schedule: api } = await h.engine.schedules.create({
      plan_id: plan.plan_id,
      owner: plan.owner,
      cron: '* * * * *',
      allowed_kinds: ['noop', 'plan'],
    });
    const { schedule: local } = await h.engine.schedules.create({
      plan_id: plan.plan_id,
      owner: plan.owner,
      cron: '* * * * *',
    });
    expect(local.allowed_kinds).toBe('all');
    expect((await h.engine.schedules.trigger(api.schedule_id)).allowed_kinds).toEqual(['noop', 'plan']);
    expect((await h.engine.schedules.trigger(local.schedule_id)).allowed_kinds).toBe('all');
    h.engine.close();
  });
});

describe('over the API', () => {
  it("runs, reruns and the runs of schedules created there carry the API's kinds", async () => {
    const store = await openStore('memory://');
    const api = await startTestApi(store, { submitKinds: onlyKinds(['noop', 'plan']) });
    try {
      const plan = await api.request('POST', '/v1/plans', {
        body: {
          plan: {
            name: 'kinds',
            steps: [
              { id: 'a', uses: 'noop' },
              { id: 'b', uses: 'noop', needs: ['a'] },
            ],
          },
        },
      });
      const planId = plan.body.plan.plan_id as string;
      const started = await api.request('POST', '/v1/runs', { body: { plan_id: planId } });
      expect(started).toMatchObject({ status: 201, body: { allowed_kinds: ['noop', 'plan'] } });
      // A run the CLI started (all kinds), rerun over the API, gets no more than the API allows.
      const local = await api.engine.startRun((await store.getPlan(planId))!);
      await api.engine.executeRun(local.run.run_id);
      const rerun = await api.request('POST', `/v1/runs/${local.run.run_id}/rerun`, { body: { from_step: 'b' } });
      expect(rerun).toMatchObject({ status: 201, body: { allowed_kinds: ['noop', 'plan'] } });
      const schedule = await api.request('POST', '/v1/schedules', { body: { plan_id: planId, cron: '0 * * * *' } });
      expect(schedule).toMatchObject({ status: 201, body: { allowed_kinds: ['noop', 'plan'] } });
      const tick = await api.request('POST', `/v1/schedules/${schedule.body.schedule_id}/trigger`);
      expect(tick).toMatchObject({ status: 201, body: { allowed_kinds: ['noop', 'plan'] } });
    } finally {
      await api.close();
      await store.close();
    }
  });
});

describe('runs and schedules stored before runs carried their kinds', () => {
  let store: RunStore;
  beforeEach(async () => {
    store = await openStore('memory://');
  });
  afterEach(async () => {
    await store.close();
  });

  /** A run as an older version stored it: no allowed_kinds. */
  async function legacyRun(h: Harness, planDoc: Awaited<ReturnType<Harness['engine']['applyPlanFile']>>) {
    const compiled = h.engine.compile(planDoc.steps_spec);
    const fresh = newRunDocuments(
      planDoc,
      compiled,
      {},
      { runId: newId(), owner: planDoc.owner, now: new Date().toISOString() },
    );
    delete fresh.run.allowed_kinds;
    await store.createRun(fresh.run, fresh.steps);
    return fresh.run;
  }

  it('read as all kinds when the root plan came from a file: a local run resumed after the upgrade runs its exec', async () => {
    const h = createHarness(store);
    const planDoc = await h.engine.applyPlanFile(h.writePlan(writeTree(h)));
    const run = await legacyRun(h, planDoc);
    await h.engine.executeRun(run.run_id);
    const tree = await treeOf(store, run.run_id);
    expect(tree.get('root')!.allowed_kinds).toBeUndefined();
    expect(tree.get('middle')!.allowed_kinds).toBe('all');
    expect(existsSync(join(h.workspace, 'ran'))).toBe(true);
    expect(existsSync(join(h.workspace, 'ran-shell'))).toBe(true);
    h.engine.close();
  });

  it("read as the API's default kinds when the plan was sent as a document: an old API run drained by a worker runs no exec", async () => {
    const h = createHarness(store);
    const { plan } = await h.engine.applyPlan(writeTree(h));
    const run = await legacyRun(h, plan);
    await h.engine.executeRun(run.run_id);
    const tree = await treeOf(store, run.run_id);
    expect(tree.get('middle')!.allowed_kinds).toEqual(API_KINDS);
    expect((await stepsOf(store, tree.get('leaf')!)).touch).toMatchObject({ error_info: { code: 'kind_forbidden' } });
    expect(existsSync(join(h.workspace, 'ran'))).toBe(false);
    h.engine.close();
  });

  it('a schedule without kinds fires runs with all kinds for a plan file, the default API kinds otherwise', async () => {
    const h = createHarness(store, { schedulerNow: () => new Date('2026-11-24T10:00:30Z') });
    const fromFile = await h.engine.applyPlanFile(h.writePlan({ name: 'filed', steps: [{ id: 'a', uses: 'noop' }] }));
    const { plan: sent } = await h.engine.applyPlan({ name: 'sent', steps: [{ id: 'a', uses: 'noop' }] });
    const kinds: unknown[] = [];
    for (const planDoc of [fromFile, sent]) {
      const { schedule } = await h.engine.schedules.create({
        plan_id: planDoc.plan_id,
        owner: planDoc.owner,
        cron: '* * * * *',
      });
      const stored = (await store.getSchedule(schedule.schedule_id))!;
      delete stored.allowed_kinds;
      kinds.push((await h.engine.scheduler.startTick(stored, '2026-11-24T10:01:00.000Z'))?.allowed_kinds);
    }
    expect(kinds).toEqual(['all', API_KINDS]);
    h.engine.close();
  });
});
