import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { startTestApi, TOKENS, type ApiClient } from '../support/api-server.js';
import { REPO_ROOT } from '../support/spawn-cli.js';
import { CHROMIUM, CHROMIUM_FLAGS, browserMissing } from '../support/chromium.js';

/** Debian's chromium (no browser download here); CHROMIUM_PATH points elsewhere. */
const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'console');

/** Everything a page does wrong: console errors, uncaught exceptions, failed requests and error answers. */
function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A stream the page closes itself (leaving a run page) is aborted on purpose.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${request.url()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return problems;
}

/** How wide the page's content is (wider than the window: it scrolls sideways). */
function pageWidth(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
        .scrollWidth,
  );
}

/** Polls a condition (real I/O behind it), bounded so a condition that never comes fails the test. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await done()) return;
    await sleep(50);
  }
  throw new Error('the condition was not reached');
}

describe.skipIf(browserMissing)('the web console in headless Chromium', () => {
  let api: ApiClient;
  let browser: Browser;
  let runId: string;
  let childRunId: string | undefined;
  let releaseTicks: () => void = () => undefined;

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('no chromium: install Debian chromium (CI installs it) or set CHROMIUM_PATH');
    mkdirSync(SCREENSHOTS, { recursive: true });
    api = await startTestApi(await openStore('memory://'), { console: true });
    // The first log line, then it waits until the test has seen the step running; then a line every 250 ms.
    const released = new Promise<void>((resolve) => (releaseTicks = resolve));
    api.engine.registerHandler('ticker', async (context) => {
      const { logger } = context;
      logger.info('tick 1 of 6');
      await released;
      for (let i = 2; i <= 6; i += 1) {
        await sleep(250);
        logger.info(`tick ${i} of 6`);
      }
      writeFileSync(join(api.workspace, 'notes.md'), '# release notes\n');
      await context.attachArtifact({
        type: 'document',
        name: 'notes.md',
        path: 'notes.md',
        media_type: 'text/markdown',
      });
      return { ticks: 6 };
    });
    const plans = mkdtempSync(join(tmpdir(), 'maestro-console-plans-'));
    writeFileSync(
      join(plans, 'child.json'),
      JSON.stringify({ name: 'package', steps: [{ id: 'inner', uses: 'noop' }] }),
    );
    writeFileSync(
      join(plans, 'release.json'),
      JSON.stringify({
        name: 'release',
        steps: [
          { id: 'tick', uses: 'handler', with: { handler: 'ticker' } },
          {
            id: 'per-image',
            needs: ['tick'],
            foreach: '${{ fromJSON(\'["api","web"]\') }}',
            steps: [
              { id: 'scan', uses: 'noop' },
              { id: 'sign', uses: 'noop', needs: ['scan'] },
            ],
          },
          { id: 'package', uses: 'plan', needs: ['per-image'], with: { plan: 'child.json' } },
          { id: 'approve', uses: 'manual', needs: ['package'] },
        ],
      }),
    );
    const planDoc = await api.engine.applyPlanFile(join(plans, 'release.json'), 'team-a');
    runId = (await api.engine.startRun(planDoc, { owner: 'team-a' })).run.run_id;
    void api.engine.executeRun(runId);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
  }, 60_000);

  afterAll(async () => {
    releaseTicks();
    // Either may not exist when beforeAll failed; each is closed if it does.
    await Promise.allSettled([(async () => browser.close())(), (async () => api.close())()]);
  });

  async function signIn(page: Page, token: string): Promise<void> {
    await page.goto(`${api.baseUrl}/console/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  }

  // First, while the release run's step holds it running (its runner alive, its lease renewed).
  it('at 400 and 1400 px: runs as short rows or cards; Resume only for a run no runner holds; Cancel asks first', async () => {
    const waitPlan = (
      await api.engine.applyPlan({ name: 'unattended', steps: [{ id: 'w', uses: 'manual' }] }, { owner: 'team-a' })
    ).plan;
    // Created and never executed: no runner holds it, which is what resuming is for.
    const unattended = (await api.engine.startRun(waitPlan, { owner: 'team-a' })).run.run_id;
    await until(async () => (await api.engine.getRunDetail(runId)).run.status === 'running');
    for (const width of [400, 1400]) {
      const page = await (await browser.newContext({ viewport: { width, height: 900 } })).newPage();
      const problems = watchForProblems(page);
      await signIn(page, TOKENS.teamA);
      const link = page.getByRole('link', { name: `run ${runId}`, exact: true });
      await link.waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, `runs-list-${width}.png`), fullPage: true });
      expect(await pageWidth(page)).toBeLessThanOrEqual(width);
      // The id reads on one line (about 1.2 em), and every cell of the run's row is inside the window.
      expect((await link.boundingBox())!.height).toBeLessThan(30);
      if (width === 400) expect(await link.innerText()).toBe(`…${runId.slice(-8)}`);
      else expect(await link.innerText()).toBe(runId);
      const row = page.locator('tr', { has: link });
      expect((await row.locator('.badge').boundingBox())!.width).toBeLessThan(120);
      for (const cell of await row.locator('td').all()) {
        const box = await cell.boundingBox();
        if (box) expect(box.x + box.width, await cell.innerText()).toBeLessThanOrEqual(width);
      }

      // A run its runner holds: cancel is offered, resume is not.
      await page.goto(`${api.baseUrl}/console/#/runs/${runId}`);
      await page.locator('tr[data-step="tick"]').getByText('running', { exact: true }).waitFor();
      await page.getByRole('button', { name: 'Cancel run' }).waitFor();
      expect(await page.getByRole('button', { name: 'Resume run' }).count()).toBe(0);
      expect(await pageWidth(page)).toBeLessThanOrEqual(width);
      await page.screenshot({ path: join(SCREENSHOTS, `run-page-running-${width}.png`), fullPage: true });

      // A run no runner holds: resume is offered.
      await page.goto(`${api.baseUrl}/console/#/runs/${unattended}`);
      await page.locator('tr[data-step="w"]').waitFor();
      await page.getByRole('button', { name: 'Resume run' }).waitFor();
      await page.close();
      expect(problems).toEqual([]);
    }

    // Cancel asks first: keeping the run changes nothing; confirming cancels it.
    const page = await browser.newPage({ viewport: { width: 400, height: 900 } });
    const problems = watchForProblems(page);
    await signIn(page, TOKENS.teamA);
    await page.goto(`${api.baseUrl}/console/#/runs/${unattended}`);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Cancel this run?' });
    await confirm.waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'cancel-confirm-400.png'), fullPage: true });
    await confirm.getByRole('button', { name: 'Keep the run' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await api.engine.getRunDetail(unattended)).run.status).toBe('pending');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await confirm.getByRole('button', { name: 'Yes, cancel the run' }).click();
    await page.locator('.run-header .badge').getByText('cancelled', { exact: true }).waitFor({ timeout: 15_000 });
    expect((await api.engine.getRunDetail(unattended)).run.status).toBe('cancelled');
    expect(await page.getByRole('button', { name: /Cancel run|Resume run/ }).count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it('follows a run live, opens its child run from the DAG and approves its manual step', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = watchForProblems(page);
    await signIn(page, TOKENS.teamA);
    const runLink = page.getByRole('link', { name: `run ${runId}`, exact: true });
    await runLink.waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'runs-list.png'), fullPage: true });
    await runLink.click();

    // The step is running and its first line is shown; the page is not reloaded from here on.
    const tickRow = page.locator('tr[data-step="tick"]');
    await tickRow.getByText('running', { exact: true }).waitFor();
    const log = page.getByLabel('log of tick');
    await log.getByText('tick 1 of 6').waitFor();
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
    releaseTicks();
    await log.getByText('tick 6 of 6').waitFor({ timeout: 15_000 });
    await tickRow.getByText('succeeded', { exact: true }).waitFor();
    await page.getByRole('cell', { name: 'notes.md' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // The plan step's box in the DAG links to its child run.
    const childNode = page.getByRole('link', { name: /package: .*opens its child run/ });
    await childNode.waitFor({ timeout: 15_000 });
    await childNode.click();
    await page.getByRole('heading', { name: /package/ }).waitFor();
    childRunId = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    expect(childRunId).toMatch(/^[0-9A-Z]{26}$/);
    expect(childRunId).not.toBe(runId);
    await page.getByRole('link', { name: `parent run ${runId}` }).click();

    // Approve the manual step; the run finishes.
    await page.getByRole('button', { name: 'Approve approve' }).click();
    await page.locator('.run-header .badge').getByText('succeeded', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByText('passes').or(page.getByText('none').first()).first().waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'run-page.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it('shows a reader no action buttons, and another owner the run as not found', async () => {
    const reader = await (await browser.newContext()).newPage();
    const readerProblems = watchForProblems(reader);
    await signIn(reader, TOKENS.teamAReader);
    await reader.goto(`${api.baseUrl}/console/#/runs/${runId}`);
    await reader.locator('tr[data-step="approve"]').waitFor();
    expect(await reader.getByRole('button', { name: /Cancel run|Resume run|Rerun|Approve|Reject/ }).count()).toBe(0);
    // Readable in a narrow window: one column, wide tables and the DAG scroll inside their boxes, not the page.
    await reader.setViewportSize({ width: 420, height: 900 });
    const pageWidth = await reader.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
          .scrollWidth,
    );
    expect(pageWidth).toBeLessThanOrEqual(420);
    await reader.screenshot({ path: join(SCREENSHOTS, 'run-page-narrow.png'), fullPage: true });
    expect(readerProblems).toEqual([]);

    const other = await (await browser.newContext()).newPage();
    const otherProblems = watchForProblems(other);
    await signIn(other, TOKENS.teamB);
    await other.goto(`${api.baseUrl}/console/#/runs/${runId}`);
    await other.getByRole('heading', { name: 'Run not found' }).waitFor();
    // The one error answer is the API saying 404 for the run (Chromium also logs it); nothing else went wrong.
    expect(
      otherProblems.filter((problem) => !problem.includes(`/v1/runs/${runId}`) && !problem.includes('404')),
    ).toEqual([]);
    expect(otherProblems.some((problem) => problem === `HTTP 404: ${api.baseUrl}/v1/runs/${runId}`)).toBe(true);
  }, 60_000);

  it('serves its page with a strict Content-Security-Policy and no inline script', async () => {
    const response = await fetch(`${api.baseUrl}/console/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await response.text();
    expect(html).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/https?:\/\//);
  });
});
