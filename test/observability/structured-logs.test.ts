import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli, startCli, startServe } from '../support/spawn-cli.js';

const CANARY = 'canary-5d1f0c9a7e3b';

async function runWorker(level: string): Promise<{ lines: Array<Record<string, unknown>>; all: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-logs-'));
  writeFileSync(
    join(cwd, 'secretive.json'),
    JSON.stringify({
      name: 'secretive',
      secrets: ['CANARY'],
      steps: [
        {
          id: 'tell',
          uses: 'exec',
          with: { command: ['node', '-e', 'console.log(process.env.T)'], env: { T: '${{ secrets.CANARY }}' } },
        },
        {
          id: 'fail',
          uses: 'exec',
          needs: ['tell'],
          with: { command: ['node', '-e', 'process.exit(3)'] },
          retry: { max_attempts: 2, backoff_ms: 1 },
        },
      ],
    }),
  );
  const created = await runCli(MAESTRO_RUN, ['secretive.json', '--detach'], { cwd });
  expect(created.code, created.stderr).toBe(0);
  const worker = startCli(MAESTRO, ['worker', '--log-level', level], {
    cwd,
    env: { MAESTRO_SECRET_CANARY: CANARY },
    timeoutMs: 60_000,
  });
  let stdout = '';
  worker.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  for (let i = 0; i < 1_500 && !stdout.includes('"event":"run.failed"'); i += 1) await sleep(20);
  worker.kill('SIGTERM');
  const ended = await worker.output;
  expect(ended.code).toBe(0);
  return { lines: jsonLines(stdout), all: stdout + ended.stderr };
}

describe('structured logs', () => {
  it('a worker logs JSON lines with run_id, step_key and attempt, and never a secret', async () => {
    const { lines, all } = await runWorker('info');
    expect(all).not.toContain(CANARY);
    for (const line of lines)
      expect(line).toEqual(
        expect.objectContaining({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) }),
      );
    const started = lines.filter((line) => line.event === 'step.started');
    expect(started.map((line) => [line.step_key, line.attempt])).toEqual([
      ['tell', 1],
      ['fail', 1],
      ['fail', 2],
    ]);
    for (const line of started) expect(line.run_id).toMatch(/^[0-9A-Z]{26}$/);
    const failed = lines.find((line) => line.event === 'step.failed')!;
    expect(failed).toMatchObject({ level: 40, step_key: 'fail', attempt: 2, error_code: 'step_failed' });
    expect(lines.find((line) => line.msg === 'worker polling')).toMatchObject({
      level: 30,
      runner: expect.any(String),
    });
  });

  it('--log-level warn leaves only warnings and errors', async () => {
    const { lines } = await runWorker('warn');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => (line.level as number) < 40)).toEqual([]);
  });

  it('maestro serve logs requests and run events as JSON lines, with the token redacted', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-logs-serve-'));
    const token = 'serve-log-token-0123456789abcdef';
    writeFileSync(join(cwd, 'tokens.json'), JSON.stringify({ tokens: [{ token, owner: 'ops', role: 'runner' }] }));
    const { server, url } = await startServe(['--store', 'memory://', '--tokens', 'tokens.json', '--log'], { cwd });
    let stdout = '';
    server.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const plan = { name: 'logged', steps: [{ id: 'a', uses: 'noop' }] };
      const created = (await (
        await fetch(`${url}/v1/plans`, { method: 'POST', headers, body: JSON.stringify({ plan }) })
      ).json()) as { plan: { plan_id: string } };
      await fetch(`${url}/v1/runs?token=${token}`, { headers });
      await fetch(`${url}/v1/runs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ plan_id: created.plan.plan_id, execute: true }),
      });
      for (let i = 0; i < 500 && !stdout.includes('"event":"run.succeeded"'); i += 1) await sleep(20);
    } finally {
      server.kill('SIGTERM');
      await server.output;
    }
    expect(stdout).not.toContain(token);
    const lines = jsonLines(stdout);
    expect(lines.some((line) => (line.req as { url?: string } | undefined)?.url === '/v1/runs?token=***')).toBe(true);
    expect(lines.find((line) => line.event === 'step.succeeded')).toMatchObject({ step_key: 'a', attempt: 1 });
  });
});
