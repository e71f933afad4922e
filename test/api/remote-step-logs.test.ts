import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dropMongoDatabase, sharedStores, unavailable } from '../support/backends.js';
import { MAESTRO, runCli, startCli, startServe } from '../support/spawn-cli.js';

const TOKEN = 'remote-logs-token-0123456789abcdef';
const LINES = 10;
/** A line every 300 ms for about 3 s. */
const TICKER = `let i = 0; const t = setInterval(() => { i += 1; console.log('line ' + i + ' of ${LINES}'); if (i === ${LINES}) clearInterval(t); }, 300);`;

/** A SQLite file both processes open (as on one machine with a shared disk), and each MongoDB-wire server. */
const stores = sharedStores();

describe.each(stores)('a step run by a worker elsewhere, its log read through maestro serve on $name', (entry) => {
  it.skipIf(unavailable(entry.available))(
    'GET …/logs?follow=true streams its lines while it runs, and the whole log after; runs logs -f prints it too',
    async () => {
      const storeUrl = entry.url(mkdtempSync(join(tmpdir(), 'maestro-shared-store-')));
      const serveDir = mkdtempSync(join(tmpdir(), 'maestro-serve-only-'));
      const workerDir = mkdtempSync(join(tmpdir(), 'maestro-worker-elsewhere-'));
      const readerDir = mkdtempSync(join(tmpdir(), 'maestro-log-reader-'));
      writeFileSync(
        join(serveDir, 'tokens.json'),
        JSON.stringify({ tokens: [{ token: TOKEN, owner: 'team', role: 'runner' }] }),
      );
      const env = { MAESTRO_POLL_MS: '50' };
      const { server, url } = await startServe(
        ['--no-runner', '--no-ui', '--allow-kinds', 'exec', '--tokens', 'tokens.json', '--store', storeUrl],
        { cwd: serveDir, env, timeoutMs: 90_000 },
      );
      const worker = startCli(MAESTRO, ['worker', '--store', storeUrl], { cwd: workerDir, env, timeoutMs: 90_000 });
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const text = await response.text();
        return {
          status: response.status,
          body: text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
        };
      };
      try {
        const plan = await call('POST', '/v1/plans', {
          plan: { name: 'ticking', steps: [{ id: 'tick', uses: 'exec', with: { command: ['node', '-e', TICKER] } }] },
        });
        expect(plan.status).toBe(201);
        const run = await call('POST', '/v1/runs', { plan_id: plan.body.plan.plan_id });
        expect(run.status).toBe(201);
        const runId = run.body.run_id as string;
        let step: { step_id: string; status: string } | undefined;
        for (let i = 0; i < 300 && step?.status !== 'running'; i += 1) {
          step = (await call('GET', `/v1/runs/${runId}`)).body.steps[0];
          if (step?.status !== 'running') await sleep(50);
        }
        expect(step?.status).toBe('running');
        const stepId = step!.step_id;

        // The CLI follows it from a third directory, with no log files of its own.
        const follower = startCli(MAESTRO, ['runs', 'logs', runId, '--step', 'tick', '-f', '--store', storeUrl], {
          cwd: readerDir,
          env,
          timeoutMs: 60_000,
        });
        const response = await fetch(`${url}/v1/runs/${runId}/steps/${stepId}/logs?follow=true`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        expect(response.status).toBe(200);
        const arrivals: Array<{ at: number; lines: number }> = [];
        let text = '';
        const decoder = new TextDecoder();
        const reader = response.body!.getReader();
        for (let read = await reader.read(); !read.done; read = await reader.read()) {
          text += decoder.decode(read.value, { stream: true });
          arrivals.push({ at: Date.now(), lines: [...text.matchAll(/line \d+ of/g)].length });
        }
        const ended = Date.now();
        expect([...text.matchAll(/line (\d+) of/g)].map((m) => Number(m[1]))).toEqual(
          Array.from({ length: LINES }, (_, i) => i + 1),
        );
        // Live: the first lines came well before the step's last, in several pieces over its ~3 s.
        const firstLine = arrivals.find((a) => a.lines > 0)!;
        expect(firstLine.lines).toBeLessThan(LINES);
        expect(ended - firstLine.at).toBeGreaterThan(1_000);
        expect(new Set(arrivals.map((a) => a.lines)).size).toBeGreaterThan(3);

        const detail = await call('GET', `/v1/runs/${runId}`);
        expect(detail.body.run.status).toBe('succeeded');
        const whole = await call('GET', `/v1/runs/${runId}/steps/${stepId}/logs`);
        expect(whole.status).toBe(200);
        expect(whole.body).toBe(text);
        // The log file is on the worker's disk only; the server read the store.
        expect(existsSync(join(serveDir, '.maestro', 'logs', runId))).toBe(false);
        expect(readdirSync(join(workerDir, '.maestro', 'logs', runId))).toEqual(['tick.1.log']);

        const followed = await follower.output;
        expect(followed.code).toBe(0);
        expect(followed.stdout).toContain('==> tick (attempt 1)');
        expect(followed.stdout).toContain(`line ${LINES} of ${LINES}`);
        const printed = await runCli(MAESTRO, ['runs', 'logs', runId, '--store', storeUrl], { cwd: readerDir, env });
        expect(printed.code).toBe(0);
        expect(printed.stdout).toContain(`line 1 of ${LINES}\nline 2 of ${LINES}`);
      } finally {
        worker.kill('SIGTERM');
        server.kill('SIGTERM');
        await Promise.all([worker.output, server.output]);
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
    120_000,
  );
});
