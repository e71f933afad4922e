import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { startTestApi, TOKENS, type ApiClient } from '../support/api-server.js';

const LINES = 10;

describe('GET /v1/runs/{run_id}/steps/{step_id}/logs', () => {
  let api: ApiClient;

  beforeEach(async () => {
    api = await startTestApi(await openStore('memory://'));
    // A step that logs a line every 150 ms, then returns.
    api.engine.registerHandler('ticker', async ({ logger }) => {
      for (let i = 1; i <= LINES; i += 1) {
        logger.info(`tick ${i}`);
        await sleep(150);
      }
      return { ticks: LINES };
    });
  });
  afterEach(() => api.close());

  async function startTicking(): Promise<{ runId: string; stepId: string }> {
    const plan = await api.request('POST', '/v1/plans', {
      body: { plan: { name: 'ticking', steps: [{ id: 'tick', uses: 'handler', with: { handler: 'ticker' } }] } },
    });
    const run = await api.request('POST', '/v1/runs', { body: { plan_id: plan.body.plan.plan_id, execute: true } });
    for (;;) {
      const detail = await api.request('GET', `/v1/runs/${run.body.run_id}`);
      const step = detail.body.steps[0];
      if (step.status === 'running') return { runId: run.body.run_id, stepId: step.step_id };
      await sleep(10);
    }
  }

  it('streams a running attempt as it writes, ends with the attempt, and resumes from a byte offset', async () => {
    const { runId, stepId } = await startTicking();
    const response = await fetch(`${api.baseUrl}/v1/runs/${runId}/steps/${stepId}/logs?follow=true`, {
      headers: { authorization: `Bearer ${TOKENS.teamAReader}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(response.headers.get('x-log-attempt')).toBe('1');
    const arrivals: number[] = [];
    let text = '';
    const decoder = new TextDecoder();
    const reader = response.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      text += decoder.decode(read.value, { stream: true });
      arrivals.push(Date.now());
    }
    expect([...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]))).toEqual(
      Array.from({ length: LINES }, (_, i) => i + 1),
    );
    // Streamed while written: the pieces came over about the step's 1.5 s, not in one piece at its end.
    expect(arrivals.length).toBeGreaterThan(3);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(600);
    expect((await api.request('GET', `/v1/runs/${runId}`)).body.steps[0].status).toBe('succeeded');
    // Resume: from a byte offset, the rest exactly.
    const cut = Buffer.byteLength(text.slice(0, text.indexOf('tick 6')));
    const rest = await api.request('GET', `/v1/runs/${runId}/steps/${stepId}/logs?offset=${cut}&attempt=1`);
    expect(rest.status).toBe(200);
    expect(rest.body).toBe(text.slice(text.indexOf('tick 6')));
  });

  it("hides another owner's run, refuses an attempt the step has not had, and validates its query", async () => {
    const { runId, stepId } = await startTicking();
    const hidden = await api.request('GET', `/v1/runs/${runId}/steps/${stepId}/logs`, { token: TOKENS.teamB });
    expect(hidden).toMatchObject({ status: 404, body: { code: 'RUN_NOT_FOUND' } });
    const noAttempt = await api.request('GET', `/v1/runs/${runId}/steps/${stepId}/logs?attempt=5`);
    expect(noAttempt).toMatchObject({ status: 404, body: { code: 'STEP_NOT_FOUND' } });
    const badOffset = await api.request('GET', `/v1/runs/${runId}/steps/${stepId}/logs?offset=-1`);
    expect(badOffset.status).toBe(400);
    expect(JSON.stringify(badOffset.body)).toContain('offset');
    const noToken = await api.request('GET', `/v1/runs/${runId}/steps/${stepId}/logs`, { token: null });
    expect(noToken.status).toBe(401);
  });
});
