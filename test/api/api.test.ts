import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/generated/schemas.js';
import { skipUnavailable, testBackends, type TestBackend } from '../support/backends.js';
import { startTestApi, TOKENS, type ApiClient } from '../support/api-server.js';

const manualPlan: Plan = {
  name: 'release',
  inputs: { type: 'object', properties: { version: { type: 'string' } }, required: ['version'] },
  steps: [
    { id: 'build', uses: 'manual' },
    { id: 'approve', uses: 'manual', needs: ['build'] },
  ],
};

async function createPlan(
  api: ApiClient,
  plan: Plan = manualPlan,
  token: string = TOKENS.teamA,
): Promise<{ plan_id: string; version: string }> {
  const created = await api.request('POST', '/v1/plans', { body: { plan }, token });
  expect(created.status).toBe(201);
  return created.body.plan;
}

async function startRun(
  api: ApiClient,
  planId: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  return api.request('POST', '/v1/runs', {
    body: { plan_id: planId, inputs: { version: '1.0.0' }, ...extra },
    headers,
  });
}

function expectProblem(response: { status: number; headers: Headers; body: any }, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(response.body).toMatchObject({ status, code });
  expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(js|ts):\d+/);
}

describe.each(testBackends())('HTTP API over real HTTP on $name', (backend: TestBackend) => {
  skipUnavailable(backend);
  let api: ApiClient;

  beforeEach(async () => {
    const { store, cleanup } = await backend.create();
    api = await startTestApi(store);
    return async () => {
      await api.close();
      await cleanup();
    };
  });

  it('answers health without a token and readiness by pinging the store', async () => {
    expect(await api.request('GET', '/healthz', { token: null })).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await api.request('GET', '/readyz', { token: null })).toMatchObject({
      status: 200,
      body: { status: 'ready' },
    });
  });

  it('creates a plan once per version, lists and gets it', async () => {
    const plan = await createPlan(api);
    const again = await api.request('POST', '/v1/plans', { body: { plan: manualPlan } });
    expect(again).toMatchObject({
      status: 200,
      body: { created: false, plan: { plan_id: plan.plan_id, version: plan.version } },
    });
    const listed = await api.request('GET', '/v1/plans?limit=10');
    expect(listed.body.items.map((p: { plan_id: string }) => p.plan_id)).toEqual([plan.plan_id]);
    expect((await api.request('GET', `/v1/plans/${plan.plan_id}`)).body).toMatchObject({
      owner: 'team-a',
      version: plan.version,
    });
  });

  it('rejects an invalid plan naming the field, and stores nothing', async () => {
    const bad = await api.request('POST', '/v1/plans', {
      body: { plan: { name: 'x', steps: [{ id: 'a', uses: 'noop', needs: ['zz'] }] } },
    });
    expectProblem(bad, 400, 'PLAN_INVALID');
    expect(bad.body.field).toBe('$.steps[0].needs[0]');
    const schemaBad = await api.request('POST', '/v1/plans', {
      body: { plan: { name: 'x', steps: [{ id: 'a', uses: 'noop', timeout_ms: 'soon' }] } },
    });
    expectProblem(schemaBad, 400, 'INPUT_INVALID');
    expect(schemaBad.body).toMatchObject({ field: '$.plan.steps[0].timeout_ms', in: 'body' });
    expect((await api.request('GET', '/v1/plans')).body.items).toEqual([]);
  });

  it('starts a run (honouring the Idempotency-Key header), gets it and lists it with filters and a cursor', async () => {
    const plan = await createPlan(api);
    const first = await startRun(api, plan.plan_id, {}, { 'idempotency-key': 'deploy-7' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'pending', owner: 'team-a', inputs: { version: '1.0.0' } });
    const again = await startRun(api, plan.plan_id, {}, { 'idempotency-key': 'deploy-7' });
    expect(again).toMatchObject({ status: 200, body: { run_id: first.body.run_id } });
    // The same key with another body is a different request: refused, and the first run is left as it was.
    const other = await api.request('POST', '/v1/runs', {
      body: { plan_id: plan.plan_id, inputs: { version: '2.0.0' } },
      headers: { 'idempotency-key': 'deploy-7' },
    });
    expectProblem(other, 409, 'IDEMPOTENCY_CONFLICT');
    expect(other.body.detail ?? other.body.title).toContain('deploy-7');
    expect((await api.request('GET', `/v1/runs/${first.body.run_id}`)).body.run.inputs).toEqual({ version: '1.0.0' });
    await startRun(api, plan.plan_id);
    await startRun(api, plan.plan_id);
    const detail = await api.request('GET', `/v1/runs/${first.body.run_id}`);
    expect(detail.body.steps.map((s: { key: string }) => s.key)).toEqual(['build', 'approve']);
    const page1 = await api.request('GET', `/v1/runs?status=pending&owner=team-a&plan_id=${plan.plan_id}&limit=2`);
    expect(page1.body.items).toHaveLength(2);
    const page2 = await api.request(
      'GET',
      `/v1/runs?status=pending&owner=team-a&plan_id=${plan.plan_id}&limit=2&cursor=${page1.body.next_cursor}`,
    );
    expect(page2.body.items).toHaveLength(1);
    expect(page2.body.next_cursor).toBeUndefined();
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await api.request('GET', `/v1/runs?created_after=${encodeURIComponent(future)}`)).body.items).toEqual([]);
    expect((await api.request('GET', `/v1/runs?created_before=${encodeURIComponent(future)}`)).body.items).toHaveLength(
      3,
    );
  });

  it('rejects invalid run inputs naming the field and creates no run', async () => {
    const plan = await createPlan(api);
    const bad = await api.request('POST', '/v1/runs', { body: { plan_id: plan.plan_id, inputs: { version: 3 } } });
    expectProblem(bad, 400, 'INPUT_INVALID');
    expect(bad.body.field).toBe('$.inputs.version');
    expect((await api.request('GET', '/v1/runs')).body.items).toEqual([]);
  });

  it('walks a run through outside step updates to its end, refusing illegal transitions with 409', async () => {
    const plan = await createPlan(api);
    const run = (await startRun(api, plan.plan_id)).body;
    const steps = (await api.request('GET', `/v1/runs/${run.run_id}`)).body.steps as Array<{
      step_id: string;
      key: string;
    }>;
    const [build, approve] = steps;
    expect(
      (
        await api.request('PATCH', `/v1/runs/${run.run_id}/steps/${build!.step_id}`, {
          body: { status: 'running', logs_ref: 's3://logs/build' },
        })
      ).body,
    ).toMatchObject({ status: 'running', logs_ref: 's3://logs/build' });
    expect((await api.request('GET', `/v1/runs/${run.run_id}`)).body.run.status).toBe('running');
    expect(
      (
        await api.request('PATCH', `/v1/runs/${run.run_id}/steps/${build!.step_id}`, {
          body: { status: 'succeeded', outputs: { image: 'app:1' } },
        })
      ).status,
    ).toBe(200);
    expectProblem(
      await api.request('PATCH', `/v1/runs/${run.run_id}/steps/${build!.step_id}`, { body: { status: 'running' } }),
      409,
      'STEP_ILLEGAL_TRANSITION',
    );
    const failed = await api.request('PATCH', `/v1/runs/${run.run_id}/steps/${approve!.step_id}`, {
      body: { status: 'failed', error_info: { message: 'rejected by QA', code: 'rejected' } },
    });
    expect(failed.body.error_info).toEqual({ message: 'rejected by QA', code: 'rejected' });
    const ended = (await api.request('GET', `/v1/runs/${run.run_id}`)).body.run;
    expect(ended).toMatchObject({ status: 'failed', error_info: { code: 'step_failed' } });
    expectProblem(
      await api.request('PATCH', `/v1/runs/${run.run_id}/steps/${approve!.step_id}`, { body: { status: 'bogus' } }),
      400,
      'INPUT_INVALID',
    );
  });

  it('attaches artifacts with their digest, and refuses paths outside the workspace', async () => {
    const plan = await createPlan(api);
    const run = (await startRun(api, plan.plan_id)).body;
    writeFileSync(join(api.workspace, 'sbom.json'), '{"packages":[]}');
    const attached = await api.request('POST', `/v1/runs/${run.run_id}/artifacts`, {
      body: { type: 'report', name: 'sbom', location: 'sbom.json' },
    });
    expect(attached.status).toBe(201);
    expect(attached.body).toMatchObject({
      size_bytes: 15,
      digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const url = await api.request('POST', `/v1/runs/${run.run_id}/artifacts`, {
      body: { type: 'model', name: 'model', location: 'https://models.example/m.bin' },
    });
    expect(url.status).toBe(201);
    expectProblem(
      await api.request('POST', `/v1/runs/${run.run_id}/artifacts`, {
        body: { type: 'report', name: 'x', location: '../../etc/passwd' },
      }),
      400,
      'PATH_FORBIDDEN',
    );
    expect((await api.request('GET', `/v1/runs/${run.run_id}`)).body.artifacts).toHaveLength(2);
  });

  it('executes a run in process when asked, streams its events over SSE, and reruns it from a step', async () => {
    const plan = await createPlan(api, {
      name: 'quick',
      steps: [
        { id: 'a', uses: 'noop', with: { outputs: { n: 1 } } },
        { id: 'b', uses: 'sleep', needs: ['a'], with: { ms: 50 } },
      ],
    });
    const run = (await api.request('POST', '/v1/runs', { body: { plan_id: plan.plan_id, execute: true } })).body;
    const response = await fetch(`${api.baseUrl}/v1/runs/${run.run_id}/events`, {
      headers: { authorization: `Bearer ${TOKENS.teamA}`, accept: 'text/event-stream' },
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    const types = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(types[0]).toBe('run.created');
    expect(types.at(-1)).toBe('run.succeeded');
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const tail = await api.request('GET', `/v1/runs/${run.run_id}/events?after_seq=3&limit=2`);
    expect(tail.body.items.map((e: { seq: number }) => e.seq)).toEqual([4, 5]);
    const rerun = await api.request('POST', `/v1/runs/${run.run_id}/rerun`, {
      body: { from_step: 'b', execute: true },
    });
    expect(rerun).toMatchObject({ status: 201, body: { rerun_of: { run_id: run.run_id, from_step: 'b' } } });
    let detail;
    do {
      await sleep(20);
      detail = (await api.request('GET', `/v1/runs/${rerun.body.run_id}`)).body;
    } while (detail.run.status !== 'succeeded');
    expect(detail.steps.find((s: { key: string }) => s.key === 'a')).toMatchObject({
      skip_reason: 'reused',
      outputs: { n: 1 },
    });
  });

  it('cancels a run and resumes another on the in-process runner', async () => {
    const plan = await createPlan(api);
    const run = (await startRun(api, plan.plan_id)).body;
    expect((await api.request('POST', `/v1/runs/${run.run_id}/cancel`)).body.status).toBe('cancelled');
    expectProblem(await api.request('POST', `/v1/runs/${run.run_id}/cancel`), 409, 'RUN_ILLEGAL_TRANSITION');
    expectProblem(await api.request('POST', `/v1/runs/${run.run_id}/resume`), 409, 'RUN_ILLEGAL_TRANSITION');
    const other = (await startRun(api, plan.plan_id)).body;
    expect((await api.request('POST', `/v1/runs/${other.run_id}/resume`)).status).toBe(202);
  });

  it('needs a valid token, a sufficient role, and hides other owners behind 404', async () => {
    const plan = await createPlan(api);
    const run = (await startRun(api, plan.plan_id)).body;
    expectProblem(await api.request('GET', '/v1/runs', { token: null }), 401, 'UNAUTHORIZED');
    expectProblem(await api.request('GET', '/v1/runs', { token: 'wrong-token-0123456789abcdef' }), 401, 'UNAUTHORIZED');
    expectProblem(
      await api.request('POST', '/v1/runs', { token: TOKENS.teamAReader, body: { plan_id: plan.plan_id } }),
      403,
      'FORBIDDEN',
    );
    expect((await api.request('GET', `/v1/runs/${run.run_id}`, { token: TOKENS.teamAReader })).status).toBe(200);
    expectProblem(await api.request('GET', `/v1/runs/${run.run_id}`, { token: TOKENS.teamB }), 404, 'RUN_NOT_FOUND');
    expectProblem(
      await api.request('POST', `/v1/runs/${run.run_id}/cancel`, { token: TOKENS.teamB }),
      404,
      'RUN_NOT_FOUND',
    );
    expectProblem(
      await api.request('GET', `/v1/plans/${plan.plan_id}`, { token: TOKENS.teamB }),
      404,
      'PLAN_NOT_FOUND',
    );
    expectProblem(
      await api.request('POST', '/v1/runs', { token: TOKENS.teamB, body: { plan_id: plan.plan_id } }),
      404,
      'PLAN_NOT_FOUND',
    );
    expect((await api.request('GET', '/v1/runs?owner=team-a', { token: TOKENS.teamB })).body.items).toEqual([]);
    expect((await api.request('GET', '/v1/runs', { token: TOKENS.teamB })).body.items).toEqual([]);
    expect((await api.request('GET', '/v1/runs', { token: TOKENS.admin })).body.items).toHaveLength(1);
    expect((await api.request('GET', `/v1/runs/${run.run_id}`)).body.run.status).toBe('pending');
  });

  it('refuses operator injection, unknown parameters, bad cursors, wrong content types and oversize bodies', async () => {
    const plan = await createPlan(api);
    await startRun(api, plan.plan_id);
    for (const query of [
      'status[$ne]=x',
      'owner[$gt]=',
      'status=pending&status=failed',
      'limit=abc',
      'limit=0',
      'sort=created_at',
      'created_after=yesterday',
    ]) {
      expectProblem(await api.request('GET', `/v1/runs?${query}`), 400, 'INPUT_INVALID');
    }
    expectProblem(await api.request('GET', '/v1/runs?cursor=bm90LWEtY3Vyc29y'), 400, 'CURSOR_INVALID');
    expectProblem(await api.request('POST', '/v1/runs', { body: { plan_id: { $ne: null } } }), 400, 'INPUT_INVALID');
    expectProblem(
      await api.request('POST', '/v1/runs', {
        rawBody: 'plan_id=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'NOT_ACCEPTABLE',
    );
    expectProblem(
      await api.request('POST', '/v1/runs', {
        rawBody: '{"plan_id": ',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'INPUT_INVALID',
    );
    expectProblem(
      await api.request('POST', '/v1/plans', {
        body: { plan: { ...manualPlan, description: 'x'.repeat(300 * 1024) } },
      }),
      413,
      'NOT_ACCEPTABLE',
    );
    expectProblem(await api.request('GET', '/v1/runs/not-an-id'), 400, 'INPUT_INVALID');
    expectProblem(await api.request('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
    expect((await api.request('GET', '/v1/runs')).body.items).toHaveLength(1);
  });
});
