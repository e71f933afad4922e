import { describe, expect, it } from 'vitest';
import type { Plan, RunDocument } from '../../src/generated/schemas.js';
import { testBackends, type TestBackend } from '../support/backends.js';
import { harnessForEachTest, type Harness } from '../support/engine-harness.js';

/** A parent over a child over a grandchild, each sleeping 5 s: only a stop that reaches down the tree ends it early. */
function writeTree(h: Harness, parentBudget?: Plan['budget']): Plan {
  h.writePlan({ name: 'grandchild', steps: [{ id: 'nap', uses: 'sleep', with: { ms: 5_000 } }] }, 'grandchild.json');
  h.writePlan(
    {
      name: 'child',
      steps: [
        { id: 'nap', uses: 'sleep', with: { ms: 5_000 } },
        { id: 'deeper', uses: 'plan', with: { plan: 'grandchild.json' } },
      ],
    },
    'child.json',
  );
  return {
    name: 'parent',
    ...(parentBudget ? { budget: parentBudget } : {}),
    steps: [{ id: 'sub', uses: 'plan', with: { plan: 'child.json' } }],
  };
}

/** Every run of the tree rooted at a run, found through parent_run_id. */
async function runTree(h: Harness, root: RunDocument): Promise<RunDocument[]> {
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1)
    tree.push(...(await h.store.listRuns({ parent_run_id: tree[i]!.run_id }, { limit: 100 })).items);
  return tree;
}

describe.each(testBackends())('stopping a run tree on $name', (backend: TestBackend) => {
  const h = harnessForEachTest(backend);

  it('a 1 s time budget over a child and a grandchild that sleep 5 s fails the parent promptly and stops the whole tree', async () => {
    const started = Date.now();
    const { run } = await h.runPlan(writeTree(h, { max_duration_ms: 1_000 }));
    const elapsed = Date.now() - started;
    expect(run).toMatchObject({ status: 'failed', error_info: { code: 'budget_exceeded' } });
    expect(elapsed).toBeLessThan(2_500);
    const tree = await runTree(h, run);
    expect(tree).toHaveLength(3);
    expect(tree.map((r) => r.status)).toEqual(['failed', 'cancelled', 'cancelled']);
    const children = await Promise.all(tree.slice(1).map((r) => h.engine.getRunDetail(r.run_id)));
    for (const child of children) expect(child.steps.filter((s) => s.status === 'succeeded')).toEqual([]);
  });

  it('cancelling the parent cancels its running child and grandchild, and the parent settles promptly', async () => {
    const planDoc = await h.engine.applyPlanFile(h.writePlan(writeTree(h)));
    const { run } = await h.engine.startRun(planDoc);
    const driving = h.engine.executeRun(run.run_id);
    // Cancel once the grandchild exists, so the stop has to travel two levels down.
    for (let tree = await runTree(h, run); tree.length < 3; tree = await runTree(h, run))
      await new Promise((r) => setTimeout(r, 20));
    const cancelledAt = Date.now();
    await h.engine.cancelRun(run.run_id);
    const ended = await driving;
    expect(Date.now() - cancelledAt).toBeLessThan(2_500);
    expect(ended?.status).toBe('cancelled');
    const tree = await runTree(h, ended!);
    expect(tree.map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('a plan step that times out cancels its child run', async () => {
    const plan = writeTree(h);
    const { run, steps } = await h.runPlan({
      ...plan,
      steps: [{ ...plan.steps[0]!, timeout_ms: 300, retry: { max_attempts: 1 } }],
    });
    expect(run.status).toBe('failed');
    expect(steps.sub).toMatchObject({ status: 'failed', error_info: { code: 'step_timeout' } });
    const tree = await runTree(h, run);
    expect(
      tree
        .slice(1)
        .map((r) => r.status)
        .every((s) => s === 'cancelled'),
    ).toBe(true);
  });

  it('a handler that ignores its signal does not hold a cancelled run past the settle bound', async () => {
    h.engine.registerHandler(
      'stubborn',
      () => new Promise((resolve) => setTimeout(() => resolve({ late: true }), 20_000).unref()),
    );
    const planDoc = await h.engine.applyPlanFile(
      h.writePlan({ name: 'stubborn', steps: [{ id: 'hold', uses: 'handler', with: { handler: 'stubborn' } }] }),
    );
    const { run } = await h.engine.startRun(planDoc);
    const driving = h.engine.executeRun(run.run_id);
    await new Promise((r) => setTimeout(r, 200));
    const cancelledAt = Date.now();
    await h.engine.cancelRun(run.run_id);
    const ended = await driving;
    expect(ended?.status).toBe('cancelled');
    expect(Date.now() - cancelledAt).toBeLessThan(8_000);
    expect((await h.result(run.run_id)).steps.hold!.status).toBe('cancelled');
  }, 15_000);
});
