import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_FLAGS, browserMissing } from '../support/chromium.js';
import { MAESTRO, REPO_ROOT, startCli, startServe } from '../support/spawn-cli.js';

const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'console');
const TOKEN = 'console-remote-log-token-0123456789';
const TICKER =
  "let i = 0; const t = setInterval(() => { i += 1; console.log('line ' + i + ' of 10'); if (i === 10) clearInterval(t); }, 300);";

describe.skipIf(browserMissing)('the console shows the live log of a step a worker runs elsewhere', () => {
  it('lines appear while the step runs on the other worker, then the whole log', async () => {
    if (!CHROMIUM) throw new Error('no chromium: install Debian chromium (CI installs it) or set CHROMIUM_PATH');
    mkdirSync(SCREENSHOTS, { recursive: true });
    const storeUrl = `sqlite://${join(mkdtempSync(join(tmpdir(), 'maestro-console-store-')), 'maestro.db')}`;
    const serveDir = mkdtempSync(join(tmpdir(), 'maestro-console-serve-'));
    const workerDir = mkdtempSync(join(tmpdir(), 'maestro-console-worker-'));
    writeFileSync(
      join(serveDir, 'tokens.json'),
      JSON.stringify({ tokens: [{ token: TOKEN, owner: 'team', role: 'runner' }] }),
    );
    const env = { MAESTRO_POLL_MS: '50' };
    const { server, url } = await startServe(
      ['--no-runner', '--allow-kinds', 'exec', '--tokens', 'tokens.json', '--store', storeUrl],
      { cwd: serveDir, env, timeoutMs: 90_000 },
    );
    const worker = startCli(MAESTRO, ['worker', '--store', storeUrl], { cwd: workerDir, env, timeoutMs: 90_000 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return (await response.json()) as any;
    };
    try {
      const plan = await call('POST', '/v1/plans', {
        plan: {
          name: 'remote-ticks',
          steps: [{ id: 'tick', uses: 'exec', with: { command: ['node', '-e', TICKER] } }],
        },
      });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('response', (response) => {
        if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
      });
      await page.goto(`${url}/console/`);
      await page.getByLabel('API token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Runs' }).waitFor();

      const runId = (await call('POST', '/v1/runs', { plan_id: plan.plan.plan_id })).run_id as string;
      await page.goto(`${url}/console/#/runs/${runId}`);
      const tickRow = page.locator('tr[data-step="tick"]');
      await tickRow.getByText('running', { exact: true }).waitFor({ timeout: 20_000 });
      const log = page.getByLabel('log of tick', { exact: true });
      await log.getByText('line 2 of 10').waitFor({ timeout: 10_000 });
      // Still running on the worker while its first lines are on screen.
      const live = await call('GET', `/v1/runs/${runId}`);
      expect(live.steps[0].status).toBe('running');
      expect(await log.getByText('line 10 of 10').count()).toBe(0);
      await page.screenshot({ path: join(SCREENSHOTS, 'remote-log-running.png'), fullPage: true });

      await log.getByText('line 10 of 10').waitFor({ timeout: 15_000 });
      await tickRow.getByText('succeeded', { exact: true }).waitFor({ timeout: 15_000 });
      const shown = await log.innerText();
      for (let i = 1; i <= 10; i += 1) expect(shown).toContain(`line ${i} of 10`);
      await page.screenshot({ path: join(SCREENSHOTS, 'remote-log-done.png'), fullPage: true });
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await browser.close();
      worker.kill('SIGTERM');
      server.kill('SIGTERM');
      await Promise.all([worker.output, server.output]);
    }
  }, 120_000);
});
