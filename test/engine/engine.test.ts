import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/generated/schemas.js';
import { isMaestroError, MaestroError } from '../../src/domain/errors.js';
import { testBackends, type TestBackend } from '../support/backends.js';
import { harnessForEachTest } from '../support/engine-harness.js';

function seqOf(
  events: { type: string; seq: number; data: Record<string, unknown> }[],
  type: string,
  key?: string,
): number {
  const found = events.find((e) => e.type === type && (key === undefined || e.data.key === key));
  if (!found) throw new Error(`no ${type} event${key ? ` for ${key}` : ''}`);
  return found.seq;
}

describe.each(testBackends())('engine on $name', (backend: TestBackend) => {
  const h = harnessForEachTest(backend);

  it('runs a diamond: the join starts only after both branches succeed, and reads their outputs', async () => {
    const plan: Plan = {
      name: 'diamond',
      steps: [
        { id: 'a', uses: 'noop', with: { outputs: { n: 1 } } },
        { id: 'b', uses: 'noop', needs: ['a'], with: { outputs: { n: '${{ steps.a.outputs.n }}' } } },
        { id: 'c', uses: 'sleep', needs: ['a'], with: { ms: 30 } },
        {
          id: 'd',
          uses: 'noop',
          needs: ['b', 'c'],
          with: { outputs: { from_b: '${{ steps.b.outputs.n }}', slept: '${{ steps.c.outputs.slept_ms }}' } },
        },
      ],
      outputs: { d: '${{ steps.d.outputs }}' },
    };
    const { run, steps, events } = await h.runPlan(plan);
    expect(run.status).toBe('succeeded');
    expect(run.outputs).toEqual({ d: { from_b: 1, slept: 30 } });
    expect(Object.values(steps).every((s) => s.status === 'succeeded')).toBe(true);
    expect(seqOf(events, 'step.started', 'd')).toBeGreaterThan(seqOf(events, 'step.succeeded', 'b'));
    expect(seqOf(events, 'step.started', 'd')).toBeGreaterThan(seqOf(events, 'step.succeeded', 'c'));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it('fans out over foreach items and fans back in with their outputs in order', async () => {
    const plan: Plan = {
      name: 'fan',
      inputs: { type: 'object', properties: { items: { type: 'array' } }, required: ['items'] },
      steps: [
        {
          id: 'each',
          foreach: '${{ inputs.items }}',
          uses: 'noop',
          with: { outputs: { doubled: '${{ item }}${{ item }}', at: '${{ index }}' } },
        },
        { id: 'collect', uses: 'noop', needs: ['each'], with: { outputs: { all: '${{ steps.each.outputs.items }}' } } },
      ],
      outputs: { all: '${{ steps.collect.outputs.all }}' },
    };
    const { run, steps } = await h.runPlan(plan, { items: ['x', 'y', 'z'] });
    expect(run.status).toBe('succeeded');
    expect(run.outputs).toEqual({
      all: [
        { doubled: 'xx', at: 0 },
        { doubled: 'yy', at: 1 },
        { doubled: 'zz', at: 2 },
      ],
    });
    expect(steps['each[1]']).toMatchObject({
      parent_step_id: steps.each!.step_id,
      item: 'y',
      index: 1,
      status: 'succeeded',
    });
  });

  it('runs nested groups, and foreach over a group, with parent_step_id links', async () => {
    const plan: Plan = {
      name: 'nested',
      steps: [
        {
          id: 'g',
          steps: [
            { id: 'x', uses: 'noop', with: { outputs: { v: 1 } } },
            { id: 'y', uses: 'noop', needs: ['x'], with: { outputs: { v: '${{ steps.x.outputs.v }}' } } },
          ],
        },
        {
          id: 'per',
          needs: ['g'],
          foreach: ['p', 'q'],
          steps: [{ id: 'sign', uses: 'noop', with: { outputs: { signed: '${{ item }}' } } }],
        },
      ],
    };
    const { run, steps } = await h.runPlan(plan);
    expect(run.status).toBe('succeeded');
    expect(steps['g.y']).toMatchObject({ status: 'succeeded', parent_step_id: steps.g!.step_id, outputs: { v: 1 } });
    expect(steps.g!.outputs).toEqual({ x: { v: 1 }, y: { v: 1 } });
    expect(steps['per[1].sign']).toMatchObject({
      status: 'succeeded',
      outputs: { signed: 'q' },
      parent_step_id: steps['per[1]']!.step_id,
    });
    expect(steps.per!.outputs).toEqual({ items: [{ sign: { signed: 'p' } }, { sign: { signed: 'q' } }] });
  });

  it('runs a child plan as a child run and takes its outputs', async () => {
    h.writePlan(
      {
        name: 'child',
        inputs: { type: 'object', properties: { word: { type: 'string' } } },
        steps: [{ id: 'say', uses: 'noop', with: { outputs: { said: '${{ inputs.word }}!' } } }],
        outputs: { said: '${{ steps.say.outputs.said }}' },
      },
      'child.json',
    );
    const { run, steps } = await h.runPlan({
      name: 'parent',
      steps: [{ id: 'sub', uses: 'plan', with: { plan: 'child.json', inputs: { word: 'hi' } } }],
    });
    expect(run.status).toBe('succeeded');
    expect(steps.sub!.outputs).toEqual({ said: 'hi!' });
    const child = await h.store.getRun(steps.sub!.child_run_id!);
    expect(child).toMatchObject({
      parent_run_id: run.run_id,
      parent_step_id: steps.sub!.step_id,
      root_run_id: run.run_id,
      status: 'succeeded',
    });
  });

  it('skips a step whose if is false and its dependants, unless a dependant asks with its own if', async () => {
    const plan: Plan = {
      name: 'branches',
      inputs: { type: 'object', properties: { deploy: { type: 'boolean' } } },
      steps: [
        { id: 'build', uses: 'noop' },
        { id: 'deploy', uses: 'noop', needs: ['build'], if: '${{ inputs.deploy }}' },
        { id: 'notify', uses: 'noop', needs: ['deploy'] },
        { id: 'report', uses: 'noop', needs: ['deploy'], if: "${{ steps.deploy.status == 'skipped' }}" },
      ],
    };
    const { run, steps } = await h.runPlan(plan, { deploy: false });
    expect(run.status).toBe('succeeded');
    expect(steps.deploy).toMatchObject({ status: 'skipped', skip_reason: 'condition_false' });
    expect(steps.notify).toMatchObject({ status: 'skipped', skip_reason: 'upstream_skipped' });
    expect(steps.report!.status).toBe('succeeded');
  });

  it('retries a failing step with backoff until it succeeds on attempt 3', async () => {
    const seen: number[] = [];
    h.engine.registerHandler('flaky', ({ attempt }) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error(`not yet (${attempt})`);
      return { ok: true };
    });
    const { run, steps, events } = await h.runPlan({
      name: 'flaky',
      steps: [
        {
          id: 'f',
          uses: 'handler',
          with: { handler: 'flaky' },
          retry: { max_attempts: 3, backoff_ms: 20, backoff_factor: 2 },
        },
      ],
    });
    expect(run.status).toBe('succeeded');
    expect(seen).toEqual([1, 2, 3]);
    expect(steps.f).toMatchObject({ status: 'succeeded', attempt: 3, outputs: { ok: true } });
    expect(events.filter((e) => e.type === 'step.retrying').map((e) => e.data.attempt)).toEqual([1, 2]);
  });

  it('does not retry an error that says it is not retryable', async () => {
    let calls = 0;
    h.engine.registerHandler('fatal', () => {
      calls += 1;
      throw new MaestroError('STEP_FAILED', 'bad request', { retryable: false });
    });
    const { run, steps } = await h.runPlan({
      name: 'fatal',
      steps: [{ id: 'f', uses: 'handler', with: { handler: 'fatal' }, retry: { max_attempts: 5, backoff_ms: 1 } }],
    });
    expect(calls).toBe(1);
    expect(run).toMatchObject({ status: 'failed', error_info: { code: 'step_failed' } });
    expect(steps.f!.error_info).toMatchObject({ code: 'step_failed', message: 'bad request', attempt: 1 });
  });

  it('fails a step that outlives its timeout and the run with it', async () => {
    const { run, steps } = await h.runPlan({
      name: 'slow',
      steps: [{ id: 's', uses: 'sleep', with: { ms: 10_000 }, timeout_ms: 100 }],
    });
    expect(run.status).toBe('failed');
    expect(steps.s!.error_info).toMatchObject({ code: 'step_timeout' });
  });

  it('lets a failed step with continue_on_error count as done for its dependants', async () => {
    h.engine.registerHandler('boom', () => {
      throw new MaestroError('STEP_FAILED', 'boom', { retryable: false });
    });
    const { run, steps } = await h.runPlan({
      name: 'tolerant',
      steps: [
        { id: 'lint', uses: 'handler', with: { handler: 'boom' }, continue_on_error: true },
        { id: 'ship', uses: 'noop', needs: ['lint'] },
      ],
    });
    expect(steps.lint!.status).toBe('failed');
    expect(steps.ship!.status).toBe('succeeded');
    expect(run.status).toBe('succeeded');
  });

  it('cancels a running run: the waiting step and the run end cancelled', async () => {
    const planDoc = await h.engine.applyPlanFile(
      h.writePlan({
        name: 'wait',
        steps: [
          { id: 'approve', uses: 'manual' },
          { id: 'after', uses: 'noop', needs: ['approve'] },
        ],
      }),
    );
    const { run } = await h.engine.startRun(planDoc);
    const executing = h.engine.executeRun(run.run_id);
    await sleep(100);
    await h.engine.cancelRun(run.run_id);
    const ended = await executing;
    expect(ended?.status).toBe('cancelled');
    const { steps, events } = await h.result(run.run_id);
    expect(steps.approve!.status).toBe('cancelled');
    expect(steps.after!.status).toBe('cancelled');
    expect(events.at(-1)?.type).toBe('run.cancelled');
  });

  it('continues a run when a manual step is reported from outside', async () => {
    const planDoc = await h.engine.applyPlanFile(
      h.writePlan({
        name: 'approval',
        steps: [
          { id: 'approve', uses: 'manual' },
          {
            id: 'after',
            uses: 'noop',
            needs: ['approve'],
            with: { outputs: { by: '${{ steps.approve.outputs.by }}' } },
          },
        ],
      }),
    );
    const { run } = await h.engine.startRun(planDoc);
    const executing = h.engine.executeRun(run.run_id);
    let approve;
    do {
      await sleep(20);
      approve = (await h.engine.getRunDetail(run.run_id)).steps.find((s) => s.key === 'approve');
    } while (approve?.status !== 'running');
    await h.engine.updateStepStatus(run.run_id, approve.step_id, { status: 'succeeded', outputs: { by: 'alice' } });
    const ended = await executing;
    expect(ended?.status).toBe('succeeded');
    expect((await h.result(run.run_id)).steps.after!.outputs).toEqual({ by: 'alice' });
    await expect(h.engine.updateStepStatus(run.run_id, approve.step_id, { status: 'failed' })).rejects.toMatchObject({
      code: 'STEP_ILLEGAL_TRANSITION',
    });
  });

  it('fails a run that crosses max_cost, cancelling what had not run', async () => {
    const { run, steps, events } = await h.runPlan({
      name: 'costly',
      budget: { max_cost: 5 },
      steps: [
        { id: 'one', uses: 'noop', with: { cost: 3 } },
        { id: 'two', uses: 'noop', needs: ['one'], with: { cost: 3 } },
        { id: 'three', uses: 'noop', needs: ['two'] },
      ],
    });
    expect(run).toMatchObject({ status: 'failed', error_info: { code: 'budget_exceeded' }, usage: { cost: 6 } });
    expect(steps.three!.status).toBe('cancelled');
    expect(events.find((e) => e.type === 'budget.exceeded')?.data).toMatchObject({
      kind: 'max_cost',
      limit: 5,
      value: 6,
      mode: 'enforce',
    });
  });

  it('fails a run that crosses max_duration_ms, stopping the running step', async () => {
    const { run, steps } = await h.runPlan({
      name: 'long',
      budget: { max_duration_ms: 150 },
      steps: [{ id: 'nap', uses: 'sleep', with: { ms: 10_000 } }],
    });
    expect(run).toMatchObject({ status: 'failed', error_info: { code: 'budget_exceeded' } });
    expect(steps.nap!.status).toBe('cancelled');
    expect(run.usage.duration_ms).toBeLessThan(5_000);
  });

  it('only records a crossed budget in audit mode', async () => {
    const { run, events } = await h.runPlan({
      name: 'audited',
      budget: { max_cost: 1, mode: 'audit' },
      steps: [
        { id: 'one', uses: 'noop', with: { cost: 3 } },
        { id: 'two', uses: 'noop', needs: ['one'] },
      ],
    });
    expect(run.status).toBe('succeeded');
    expect(events.filter((e) => e.type === 'budget.exceeded').map((e) => e.data.mode)).toEqual(['audit']);
  });

  it('rolls the cost of a child run up into its parent', async () => {
    h.writePlan({ name: 'spender', steps: [{ id: 'spend', uses: 'noop', with: { cost: 2.5 } }] }, 'spender.json');
    const { run, steps } = await h.runPlan({
      name: 'holder',
      steps: [{ id: 'sub', uses: 'plan', with: { plan: 'spender.json' } }],
    });
    expect(run.usage.cost).toBeCloseTo(2.5);
    expect(steps.sub!.cost).toBeCloseTo(2.5);
  });

  it('returns the same run when started twice with one idempotency key', async () => {
    const planDoc = await h.engine.applyPlanFile(h.writePlan({ name: 'once', steps: [{ id: 'a', uses: 'noop' }] }));
    const first = await h.engine.startRun(planDoc, { idempotencyKey: 'release-1.2.3' });
    const second = await h.engine.startRun(planDoc, { idempotencyKey: 'release-1.2.3' });
    expect(first.created).toBe(true);
    expect(second).toEqual({ run: first.run, created: false });
    expect((await h.store.listRuns({}, { limit: 10 })).items).toHaveLength(1);
  });

  it('reruns from a step: a new linked run reuses what came before and runs the rest with edited inputs', async () => {
    const calls: string[] = [];
    h.engine.registerHandler('count', ({ step, inputs }) => {
      calls.push(step.key);
      return { key: step.key, tag: inputs.tag };
    });
    const plan: Plan = {
      name: 'pipeline',
      inputs: { type: 'object', properties: { tag: { type: 'string' } } },
      steps: [
        { id: 'fetch', uses: 'handler', with: { handler: 'count' } },
        { id: 'build', uses: 'handler', needs: ['fetch'], with: { handler: 'count' } },
        { id: 'publish', uses: 'handler', needs: ['build'], with: { handler: 'count' } },
      ],
    };
    const first = await h.runPlan(plan, { tag: 'v1' });
    expect(calls).toEqual(['fetch', 'build', 'publish']);
    const rerun = await h.engine.rerunFrom(first.run.run_id, 'build', { inputs: { tag: 'v2' } });
    await h.engine.executeRun(rerun.run_id);
    const second = await h.result(rerun.run_id);
    expect(calls).toEqual(['fetch', 'build', 'publish', 'build', 'publish']);
    expect(second.run).toMatchObject({
      status: 'succeeded',
      rerun_of: { run_id: first.run.run_id, from_step: 'build' },
      inputs: { tag: 'v2' },
    });
    expect(second.steps.fetch).toMatchObject({
      status: 'succeeded',
      skip_reason: 'reused',
      outputs: { key: 'fetch', tag: 'v1' },
    });
    expect(second.steps.publish!.outputs).toEqual({ key: 'publish', tag: 'v2' });
  });

  it('runs exec steps without a shell and takes outputs from the last JSON line or $MAESTRO_OUTPUT', async () => {
    const { run, steps } = await h.runPlan({
      name: 'execs',
      steps: [
        {
          id: 'line',
          uses: 'exec',
          with: {
            command: [
              'node',
              '-e',
              'console.log("noise"); console.log(JSON.stringify({ arg: process.argv[1] }))',
              '$(echo hacked); rm -rf / `x` | y',
            ],
          },
        },
        {
          id: 'file',
          uses: 'exec',
          with: {
            command: [
              'node',
              '-e',
              'require("fs").writeFileSync(process.env.MAESTRO_OUTPUT, JSON.stringify({ key: process.env.MAESTRO_IDEMPOTENCY_KEY }))',
            ],
          },
        },
        {
          id: 'bad',
          uses: 'exec',
          needs: ['line'],
          with: { command: ['node', '-e', 'process.exit(3)'] },
          continue_on_error: true,
        },
      ],
    });
    expect(steps.line!.outputs).toEqual({ arg: '$(echo hacked); rm -rf / `x` | y' });
    expect(steps.file!.outputs).toEqual({ key: `${run.run_id}:file:1` });
    expect(steps.bad!.error_info).toMatchObject({ code: 'step_failed', details: { exit_code: 3 } });
    expect(readFileSync(steps.line!.logs_ref!, 'utf8')).toContain('noise');
  });

  it('records declared artifacts with their sha256 and size, and refuses paths outside the workspace', async () => {
    writeFileSync(join(h.workspace, 'report.txt'), 'hello artifact');
    const { steps } = await h.runPlan({
      name: 'artifacts',
      steps: [
        { id: 'ok', uses: 'noop', artifacts: [{ type: 'report', path: 'report.txt' }] },
        {
          id: 'escape',
          uses: 'noop',
          artifacts: [{ type: 'report', path: '../../etc/passwd' }],
          continue_on_error: true,
        },
      ],
    });
    const artifacts = await h.store.listArtifacts(steps.ok!.run_id);
    expect(artifacts).toHaveLength(1);
    const sha256 = createHash('sha256').update('hello artifact').digest('hex');
    expect(artifacts[0]).toMatchObject({
      name: 'report.txt',
      size_bytes: 14,
      digest: { sha256 },
      step_id: steps.ok!.step_id,
    });
    expect(steps.escape).toMatchObject({ status: 'failed', error_info: { code: 'path_forbidden' } });
  });

  it('rejects invalid inputs naming the field and stores no run', async () => {
    const planDoc = await h.engine.applyPlanFile(
      h.writePlan({
        name: 'typed',
        inputs: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
        steps: [{ id: 'a', uses: 'noop' }],
      }),
    );
    const error = await h.engine.startRun(planDoc, { inputs: { n: 'three' } }).catch((e: unknown) => e);
    expect(isMaestroError(error, 'INPUT_INVALID')).toBe(true);
    expect((error as MaestroError).details.path).toBe('$.inputs.n');
    expect((await h.store.listRuns({}, { limit: 10 })).items).toEqual([]);
  });
});
