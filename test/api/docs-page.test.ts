import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { startTestApi, type ApiClient } from '../support/api-server.js';
import { REPO_ROOT } from '../support/spawn-cli.js';
import { CHROMIUM, CHROMIUM_FLAGS, browserMissing } from '../support/chromium.js';

/** Debian's chromium (no browser download here); CHROMIUM_PATH points elsewhere. */
const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'docs');

describe('/openapi.json', () => {
  it('names no JSON Schema dialect but the one OpenAPI 3.1 defines, which Swagger UI knows', async () => {
    const store = await openStore('memory://');
    const api = await startTestApi(store);
    try {
      // The document as served at /openapi.json and as the docs page loads it.
      for (const path of ['/openapi.json', '/docs/json']) {
        const spec = (await api.request('GET', path, { token: null })).body;
        expect(spec.openapi, path).toBe('3.1.0');
        // Absent means the OpenAPI 3.1 base dialect (JSON Schema 2020-12 with OpenAPI's vocabulary).
        expect([undefined, 'https://spec.openapis.org/oas/3.1/dialect/base'], path).toContain(spec.jsonSchemaDialect);
      }
    } finally {
      await api.close();
      await store.close();
    }
  });
});

describe.skipIf(browserMissing)('/docs in headless Chromium', () => {
  let api: ApiClient;
  let browser: Browser;

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('no chromium: install Debian chromium (CI installs it) or set CHROMIUM_PATH');
    mkdirSync(SCREENSHOTS, { recursive: true });
    api = await startTestApi(await openStore('memory://'));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([(async () => browser.close())(), (async () => api.close())()]);
  });

  it('renders every operation with no error or warning box', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    await page.goto(`${api.baseUrl}/docs/`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'docs.png') });
    // Swagger UI's red box (and the validator badge's) list what it refused or warns about.
    expect(await page.locator('.errors-wrapper, .version-pragma, .swagger-ui .errors').allInnerTexts()).toEqual([]);
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(14);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
