import { describe, expect, it } from 'vitest';
import type { Plan, RunDocument } from '../../src/generated/schemas.js';
import { testBackends, type TestBackend } from '../support/backends.js';
import { createHarness, harnessForEachTest, type Harness } from '../support/engine-harness.js';

/** Steps that pay 8 after `payAfterMs`, then sleep 6 s before a last step: only a stop that reaches them ends it early. */
function payingSteps(payAfterMs: number): Plan['steps'] {
  return [
    { id: 'wait', uses: 'sleep', with: { ms: payAfterMs } },
    { id: 'pay', uses: 'noop', needs: ['wait'], with: { cost: 8 } },
    { id: 'nap', uses: 'sleep', needs: ['pay'], with: { ms: 6_000 } },
    { id: 'after', uses: 'noop', needs: ['nap'] },
  ];
}

function parentOf(budget: Plan['budget']): Plan {
  return { name: 'parent', budget, steps: [{ id: 'sub', uses: 'plan', with: { plan: 'child.json' } }] };
}

/** Every run of the tree rooted at a run, found through parent_run_id (parents before children). */
async function runTree(h: Harness, root: RunDocument): Promise<RunDocument[]> {
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1)
    tree.push(...(await h.store.listRuns({ parent_run_id: tree[i]!.run_id }, { limit: 100 })).items);
  return tree;
}

async function succeededSteps(h: Harness, runs: RunDocument[]): Promise<string[]> {
  const details = await Promise.all(runs.map((r) => h.engine.getRunDetail(r.run_id)));
  return details.flatMap((d) =>
    d.steps.filter((s) => s.status === 'succeeded').map((s) => `${d.run.plan_name}.${s.key}`),
  );
}

describe.each(testBackends())('a cost budget over a run tree on $name', (backend: TestBackend) => {
  const h = harnessForEachTest(backend);

  it('a child reporting a cost of 8 under a max_cost of 5 stops the tree at once: the child and grandchild are cancelled mid-sleep', async () => {
    h.writePlan({ name: 'grandchild', steps: [{ id: 'nap', uses: 'sleep', with: { ms: 6_000 } }] }, 'grandchild.json');
    h.writePlan(
      {
        name: 'child',
        steps: [...payingSteps(300), { id: 'deeper', uses: 'plan', with: { plan: 'grandchild.json' } }],
      },
      'child.json',
    );
    const started = Date.now();
    const { run, events } = await h.runPlan(parentOf({ max_cost: 5 }));
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(run).toMatchObject({ status: 'failed', error_info: { code: 'budget_exceeded' } });
    expect(events.find((e) => e.type === 'budget.exceeded')?.data).toMatchObject({
      kind: 'max_cost',
      limit: 5,
      value: 8,
      mode: 'enforce',
    });
    const tree = await runTree(h, run);
    expect(tree.map((r) => `${r.plan_name} ${r.status}`)).toEqual([
      'parent failed',
      'child cancelled',
      'grandchild cancelled',
    ]);
    expect(await succeededSteps(h, tree.slice(1))).toEqual(['child.wait', 'child.pay']);
    // The child's cost is the parent's too once the child has ended.
    expect(run.usage.cost).toBe(8);
  });

  it('a grandchild reporting the cost stops its parent and grandparent', async () => {
    h.writePlan({ name: 'grandchild', steps: payingSteps(50) }, 'grandchild.json');
    h.writePlan(
      {
        name: 'child',
        steps: [
          { id: 'deeper', uses: 'plan', with: { plan: 'grandchild.json' } },
          { id: 'side', uses: 'sleep', with: { ms: 6_000 } },
        ],
      },
      'child.json',
    );
    const started = Date.now();
    const { run } = await h.runPlan(parentOf({ max_cost: 5 }));
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(run).toMatchObject({ status: 'failed', error_info: { code: 'budget_exceeded' } });
    const tree = await runTree(h, run);
    expect(tree.map((r) => `${r.plan_name} ${r.status}`)).toEqual([
      'parent failed',
      'child cancelled',
      'grandchild cancelled',
    ]);
    expect(await succeededSteps(h, tree.slice(1))).toEqual(['grandchild.wait', 'grandchild.pay']);
  });

  it('in audit mode the crossing is reported while the child runs, and nothing stops', async () => {
    h.writePlan(
      {
        name: 'child',
        steps: [
          { id: 'pay', uses: 'noop', with: { cost: 8 } },
          { id: 'nap', uses: 'sleep', needs: ['pay'], with: { ms: 800 } },
        ],
      },
      'child.json',
    );
    const { run, events } = await h.runPlan(parentOf({ max_cost: 5, mode: 'audit' }));
    expect(run.status).toBe('succeeded');
    const [, child] = await runTree(h, run);
    expect(child!.status).toBe('succeeded');
    const audits = events.filter((e) => e.type === 'budget.exceeded');
    expect(audits.map((e) => e.data)).toEqual([{ kind: 'max_cost', limit: 5, value: 8, mode: 'audit' }]);
    // Reported as the cost was, not when the child ended.
    expect(Date.parse(audits[0]!.at)).toBeLessThan(Date.parse(child!.ended_at!));
  });

  it('a child driven by another runner is stopped through the store', async () => {
    const other = createHarness(h.store);
    try {
      const childPath = h.writePlan({ name: 'child', steps: payingSteps(0) }, 'child.json');
      const planDoc = await h.engine.applyPlanFile(h.writePlan(parentOf({ max_cost: 5 })));
      const { run } = await h.engine.startRun(planDoc);
      const [sub] = await h.store.listSteps(run.run_id);
      // The other runner (a worker, say) started the parent step's child run first, under the key the step uses.
      const { run: child } = await other.engine.startRun(await other.engine.applyPlanFile(childPath, run.owner), {
        owner: run.owner,
        idempotencyKey: `${run.run_id}:sub:child`,
        parent: { run_id: run.run_id, step_id: sub!.step_id, root_run_id: run.root_run_id },
      });
      const drivingChild = other.engine.executeRun(child.run_id);
      while ((await h.store.getRun(child.run_id))!.usage.cost === 0) await new Promise((r) => setTimeout(r, 20));

      const started = Date.now();
      const ended = await h.engine.executeRun(run.run_id);
      expect(Date.now() - started).toBeLessThan(3_500);
      expect(ended).toMatchObject({ status: 'failed', error_info: { code: 'budget_exceeded' } });
      const childEnded = await drivingChild;
      expect(childEnded?.status).toBe('cancelled');
      expect(Date.now() - started).toBeLessThan(3_500);
      expect(await succeededSteps(h, [childEnded!])).toEqual(['child.wait', 'child.pay']);
      expect(ended!.usage.cost).toBe(8);
    } finally {
      other.engine.close();
    }
  });
});
