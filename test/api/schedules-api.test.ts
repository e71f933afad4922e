import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { startTestApi, TOKENS, type ApiClient } from '../support/api-server.js';

describe('schedules over the API', () => {
  let api: ApiClient;
  let planId: string;

  beforeEach(async () => {
    api = await startTestApi(await openStore('memory://'));
    const plan = await api.request('POST', '/v1/plans', {
      body: {
        plan: {
          name: 'nightly',
          inputs: { type: 'object', properties: { env: { type: 'string' } }, required: ['env'] },
          steps: [{ id: 'a', uses: 'noop' }],
        },
      },
    });
    planId = plan.body.plan.plan_id;
  });
  afterEach(() => api.close());

  it('creates, lists, gets, pauses, resumes, triggers and deletes a schedule, scoped to its owner', async () => {
    const created = await api.request('POST', '/v1/schedules', {
      body: { plan_id: planId, cron: '0 3 * * *', timezone: 'Europe/Berlin', inputs: { env: 'prod' }, catchup: 'one' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ owner: 'team-a', catchup: 'one', paused: false, timezone: 'Europe/Berlin' });
    // 03:00 in Berlin is 01:00 or 02:00 UTC.
    expect(created.body.next_tick_at).toMatch(/T0[12]:00:00\.000Z$/);
    const id = created.body.schedule_id as string;

    expect(
      (await api.request('GET', '/v1/schedules')).body.items.map((s: { schedule_id: string }) => s.schedule_id),
    ).toEqual([id]);
    expect((await api.request('GET', '/v1/schedules', { token: TOKENS.teamB })).body.items).toEqual([]);
    expect(await api.request('GET', `/v1/schedules/${id}`, { token: TOKENS.teamB })).toMatchObject({
      status: 404,
      body: { code: 'SCHEDULE_NOT_FOUND' },
    });
    expect((await api.request('POST', `/v1/schedules/${id}/pause`, { token: TOKENS.teamAReader })).status).toBe(403);

    expect((await api.request('POST', `/v1/schedules/${id}/pause`)).body.paused).toBe(true);
    expect((await api.request('POST', `/v1/schedules/${id}/resume`)).body.paused).toBe(false);

    const triggered = await api.request('POST', `/v1/schedules/${id}/trigger`);
    expect(triggered.status).toBe(201);
    expect(triggered.body).toMatchObject({
      schedule_id: id,
      inputs: { env: 'prod' },
      scheduled_for: expect.any(String),
    });

    expect((await api.request('DELETE', `/v1/schedules/${id}`)).status).toBe(204);
    expect((await api.request('GET', `/v1/schedules/${id}`)).status).toBe(404);
    // The run stays.
    expect((await api.request('GET', `/v1/runs/${triggered.body.run_id}`)).status).toBe(200);
  });

  it('refuses a bad cron, time zone or inputs naming the field, and another owner plan as not found', async () => {
    const bad = async (body: Record<string, unknown>) =>
      api.request('POST', '/v1/schedules', {
        body: { plan_id: planId, cron: '* * * * *', inputs: { env: 'x' }, ...body },
      });
    expect(await bad({ cron: 'every night' })).toMatchObject({ status: 400, body: { code: 'INPUT_INVALID' } });
    expect(JSON.stringify((await bad({ cron: 'every night' })).body)).toContain('$.cron');
    expect(JSON.stringify((await bad({ timezone: 'Mars/Base' })).body)).toContain('$.timezone');
    expect(JSON.stringify((await bad({ inputs: {} })).body)).toContain('env');
    expect((await bad({ catchup: 'sometimes' })).status).toBe(400);
    const other = await api.request('POST', '/v1/schedules', {
      body: { plan_id: planId, cron: '* * * * *', inputs: { env: 'x' } },
      token: TOKENS.teamB,
    });
    expect(other).toMatchObject({ status: 404, body: { code: 'PLAN_NOT_FOUND' } });
    expect((await api.request('GET', '/v1/schedules')).body.items).toEqual([]);
  });
});
