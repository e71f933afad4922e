import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';
import { startTestApi, TOKENS, type ApiClient } from '../support/api-server.js';
import { recordFigures } from './support/figures.js';

describe('bad API input and load, over loopback HTTP', () => {
  let store: RunStore;
  let api: ApiClient;
  let planId: string;
  let runId: string;
  let stepId: string;
  let doneStepId: string;

  const snapshot = async (): Promise<string> => {
    const runs = await store.listRuns({}, { limit: 500 });
    const details = await Promise.all(runs.items.map((run) => store.getRunDetail(run.run_id)));
    const events = await Promise.all(runs.items.map((run) => store.listEvents(run.run_id, 0, 10_000)));
    const plans = await store.listPlans({}, { limit: 500 });
    return JSON.stringify({ details, events, plans });
  };

  beforeAll(async () => {
    store = await openStore('memory://');
    api = await startTestApi(store);
    planId = (
      await api.request('POST', '/v1/plans', {
        body: {
          plan: {
            name: 'target',
            steps: [
              { id: 'a', uses: 'manual' },
              { id: 'b', uses: 'manual', needs: ['a'] },
            ],
          },
        },
      })
    ).body.plan.plan_id;
    runId = (await api.request('POST', '/v1/runs', { body: { plan_id: planId } })).body.run_id;
    const steps = (await api.request('GET', `/v1/runs/${runId}`)).body.steps as Array<{ step_id: string; key: string }>;
    stepId = steps.find((s) => s.key === 'b')!.step_id;
    doneStepId = steps.find((s) => s.key === 'a')!.step_id;
    await api.request('PATCH', `/v1/runs/${runId}/steps/${doneStepId}`, { body: { status: 'succeeded' } });
    await api.request('PATCH', `/v1/runs/${runId}/steps/${stepId}`, { body: { status: 'running' } });
  });

  afterAll(async () => {
    await api.close();
    await store.close();
  });

  it('answers every hostile request with the right 4xx, never a 5xx, and changes nothing', async () => {
    const before = await snapshot();
    const otherOwners = { token: TOKENS.teamB };
    type Case = [
      string,
      string,
      string,
      { body?: unknown; rawBody?: string; headers?: Record<string, string>; token?: string | null },
      number,
    ];
    const cases: Case[] = [];
    // Operator injection in query strings.
    for (const query of [
      'status[$ne]=x',
      'status[$gt]=',
      'owner[$regex]=.*',
      'owner[$ne]=team-a',
      'plan_id[$exists]=true',
      'created_after[$gte]=2020-01-01',
      '$where=1',
      'limit[$gt]=0',
      'status=pending&status=failed',
      'cursor[$ne]=x',
      '__proto__[x]=1',
      'constructor=1',
      'limit=1e9',
      'limit=-1',
      'limit=abc',
      'created_before=tomorrow',
      'sort=-created_at',
      'status=',
    ]) {
      cases.push([`query ${query}`, 'GET', `/v1/runs?${query}`, {}, 400]);
    }
    // Operator injection and prototype keys in bodies.
    const hostileBodies = [
      ...[
        { plan_id: { $ne: null } },
        { plan_id: planId, inputs: 'x' },
        { plan_id: planId, execute: 'yes' },
        { plan_id: planId, $where: '1' },
        { plan_id: planId, labels: { x: { $gt: '' } } },
        [],
        'plan',
        null,
      ].map((b) => JSON.stringify(b)),
      // Written as text: a JS object literal would turn these keys into prototypes, not properties.
      `{"plan_id":"${planId}","__proto__":{"admin":true}}`,
      `{"plan_id":"${planId}","constructor":{"prototype":{"admin":true}}}`,
    ];
    for (const raw of hostileBodies)
      cases.push([
        `start body ${raw}`,
        'POST',
        '/v1/runs',
        { rawBody: raw, headers: { 'content-type': 'application/json' } },
        400,
      ]);
    for (const body of [
      { status: { $ne: 'x' } },
      { status: 'running', outputs: [] },
      { status: 'succeeded', cost: -1 },
      { status: 'succeeded', error_info: { message: 1 } },
      { status: 'pending' },
      {},
    ]) {
      cases.push([`step body ${JSON.stringify(body)}`, 'PATCH', `/v1/runs/${runId}/steps/${stepId}`, { body }, 400]);
    }
    cases.push([
      'plan with $ keys in steps',
      'POST',
      '/v1/plans',
      { body: { plan: { name: 'x', steps: [{ id: 'a', uses: 'noop', $where: 1 }] } } },
      400,
    ]);
    // Wrong content types and bodies.
    for (const [type, raw] of [
      ['text/plain', 'x'],
      ['application/x-www-form-urlencoded', 'plan_id=x'],
      ['application/xml', '<run/>'],
      ['multipart/form-data; boundary=x', '--x--'],
    ] as const) {
      cases.push([
        `content-type ${type}`,
        'POST',
        '/v1/runs',
        { rawBody: raw, headers: { 'content-type': type } },
        415,
      ]);
    }
    cases.push([
      'broken JSON',
      'POST',
      '/v1/runs',
      { rawBody: '{"plan_id":', headers: { 'content-type': 'application/json' } },
      400,
    ]);
    cases.push([
      'oversize body',
      'POST',
      '/v1/plans',
      { body: { plan: { name: 'big', description: 'x'.repeat(400 * 1024), steps: [{ id: 'a', uses: 'noop' }] } } },
      413,
    ]);
    // Invalid cursors.
    for (const cursor of [
      'x',
      'bm90LWEtY3Vyc29y',
      Buffer.from('["not-a-date","x"]').toString('base64url'),
      Buffer.from('{"$ne":1}').toString('base64url'),
    ]) {
      cases.push([`cursor ${cursor}`, 'GET', `/v1/runs?cursor=${cursor}`, {}, 400]);
    }
    // Illegal step transitions.
    cases.push([
      'finished step back to running',
      'PATCH',
      `/v1/runs/${runId}/steps/${doneStepId}`,
      { body: { status: 'running' } },
      409,
    ]);
    cases.push([
      'finished step to failed',
      'PATCH',
      `/v1/runs/${runId}/steps/${doneStepId}`,
      { body: { status: 'failed' } },
      409,
    ]);
    // Other owners' ids, unknown ids, no or bad tokens, insufficient role.
    for (const [method, path, body] of [
      ['GET', `/v1/runs/${runId}`],
      ['GET', `/v1/runs/${runId}/events`],
      ['POST', `/v1/runs/${runId}/cancel`],
      ['POST', `/v1/runs/${runId}/rerun`, { from_step: 'a' }],
      ['PATCH', `/v1/runs/${runId}/steps/${stepId}`, { status: 'succeeded' }],
      ['POST', `/v1/runs/${runId}/artifacts`, { type: 'report', name: 'x', location: 'https://x.example/' }],
      ['GET', `/v1/plans/${planId}`],
      ['POST', '/v1/runs', { plan_id: planId }],
    ] as const) {
      cases.push([`other owner ${method} ${path}`, method, path, { ...otherOwners, ...(body ? { body } : {}) }, 404]);
    }
    cases.push(['unknown run', 'GET', '/v1/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV', {}, 404]);
    cases.push(['no token', 'GET', '/v1/runs', { token: null }, 401]);
    cases.push(['bad token', 'GET', '/v1/runs', { token: 'x'.repeat(40) }, 401]);
    cases.push([
      'reader starts a run',
      'POST',
      '/v1/runs',
      { token: TOKENS.teamAReader, body: { plan_id: planId } },
      403,
    ]);
    cases.push([
      'path traversal artifact',
      'POST',
      `/v1/runs/${runId}/artifacts`,
      { body: { type: 'report', name: 'x', location: '../../../etc/shadow' } },
      400,
    ]);

    const outcomes = [];
    for (const [name, method, path, options, expected] of cases) {
      const response = await api.request(method, path, options);
      outcomes.push({
        name,
        status: response.status,
        expected,
        problem: response.headers.get('content-type')?.includes('application/problem+json'),
      });
    }
    const serverErrors = outcomes.filter((o) => o.status >= 500);
    const wrong = outcomes.filter((o) => o.status !== o.expected || !o.problem);
    const after = await snapshot();
    recordFigures({
      fault: 'bad API input',
      runs: 1,
      steps: cases.length,
      errors: serverErrors.length,
      wrong_status: wrong.length,
      store_changed: before === after ? 0 : 1,
    });
    expect(serverErrors).toEqual([]);
    expect(wrong.map((o) => `${o.name}: ${o.status} (expected ${o.expected})`)).toEqual([]);
    expect(after).toBe(before);
  });

  it('serves mixed get_run, list_runs and step updates under load with zero errors', async () => {
    const result = await autocannon({
      url: api.baseUrl,
      connections: 8,
      duration: 5,
      headers: { authorization: `Bearer ${TOKENS.teamA}`, 'content-type': 'application/json' },
      requests: [
        { method: 'GET', path: `/v1/runs/${runId}` },
        { method: 'GET', path: '/v1/runs?status=running&owner=team-a&limit=20' },
        // A heartbeat of the running step: running -> running is a legal, repeatable update.
        {
          method: 'PATCH',
          path: `/v1/runs/${runId}/steps/${stepId}`,
          body: JSON.stringify({ status: 'running', logs_ref: 'https://logs.example/b' }),
        },
      ],
    });
    recordFigures({
      fault: 'API load (autocannon, 8 connections, 5 s)',
      runs: 1,
      steps: result.requests.total,
      errors: result.errors + result.non2xx,
      p99_ms: result.latency.p99,
      p50_ms: result.latency.p50,
      requests_per_s: Math.round(result.requests.average),
    });
    expect(result.requests.total).toBeGreaterThan(100);
    expect(result.errors).toBe(0);
    expect(result.non2xx).toBe(0);
  });
});
