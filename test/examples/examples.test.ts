import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { startTestApi, TOKENS } from '../support/api-server.js';
import { jsonLines, MAESTRO_RUN, REPO_ROOT, runCli } from '../support/spawn-cli.js';

const examplesDir = join(REPO_ROOT, 'examples');

function runExample(
  file: string,
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(examplesDir, file)], {
    cwd: mkdtempSync(join(tmpdir(), 'maestro-example-')),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('examples/', () => {
  it('has a test for every script', () => {
    expect(
      readdirSync(examplesDir)
        .filter((f) => f.endsWith('.mjs'))
        .sort(),
    ).toEqual(['claim-ledger-integration.mjs', 'http-api.mjs', 'library-embedded-store.mjs', 'workflow-as-code.mjs']);
  });

  it('library-embedded-store.mjs: plan, run, outside step updates, artifact, get_run and list_runs', () => {
    const result = runExample('library-embedded-store.mjs');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^run \w+ succeeded: build=succeeded qa=succeeded publish=succeeded$/m);
    expect(result.stdout).toMatch(/^artifact release-notes\.md sha256:[0-9a-f]{16} 25 bytes$/m);
    expect(result.stdout).toMatch(/^history: 1 succeeded release runs/m);
  });

  it('http-api.mjs: the same flow over the HTTP API', async () => {
    const store = await openStore('memory://');
    const api = await startTestApi(store);
    try {
      const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        // Run it asynchronously: the server lives in this process.
        void import('node:child_process').then(({ execFile }) =>
          execFile(
            process.execPath,
            [join(examplesDir, 'http-api.mjs')],
            { env: { ...process.env, MAESTRO_API_URL: api.baseUrl, MAESTRO_API_TOKEN: TOKENS.teamA }, timeout: 60_000 },
            (error, stdout, stderr) =>
              resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          ),
        );
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^run \w+ succeeded: build=succeeded qa=succeeded publish=succeeded$/m);
      expect(result.stdout).toMatch(/^history: 1 succeeded runs of release-checklist$/m);
    } finally {
      await api.close();
      await store.close();
    }
  });

  it('workflow-as-code.mjs: handlers registered in code, foreach over them, costs reported', () => {
    const result = runExample('workflow-as-code.mjs');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/succeeded: total 130, cost 0\.06$/m);
  });

  it('workflow-as-code.mjs exports register(engine): maestro-run --handlers runs examples/quote.json with it', async () => {
    const result = await runCli(
      MAESTRO_RUN,
      [
        join(examplesDir, 'quote.json'),
        '--handlers',
        join(examplesDir, 'workflow-as-code.mjs'),
        '--json',
        '--input',
        'customer=acme',
        '--input',
        'skus=["bolt","washer","nut"]',
      ],
      { cwd: mkdtempSync(join(tmpdir(), 'maestro-example-')) },
    );
    expect(result.code, result.stderr).toBe(0);
    // Importing the module only registered its handlers: its own demo run did not start.
    expect(result.stdout).not.toMatch(/^run \w+ succeeded/m);
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({
      type: 'result',
      run: { status: 'succeeded', outputs: { total: 130 }, usage: { cost: expect.closeTo(0.06, 6) } },
    });
  });

  it('leaves no untracked file in a checkout: what the examples and plans/provenance.json write is ignored', async () => {
    // A fresh repository with this checkout's .gitignore stands for the checkout (the shared one is left alone).
    const checkout = mkdtempSync(join(tmpdir(), 'maestro-checkout-'));
    expect(spawnSync('git', ['init', '-q'], { cwd: checkout }).status).toBe(0);
    copyFileSync(join(REPO_ROOT, '.gitignore'), join(checkout, '.gitignore'));
    const provenance = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'provenance.json')], { cwd: checkout });
    expect(provenance.code, provenance.stderr).toBe(0);
    for (const file of ['claim-ledger-integration.mjs', 'library-embedded-store.mjs', 'workflow-as-code.mjs']) {
      const ran = spawnSync(process.execPath, [join(examplesDir, file)], { cwd: checkout, timeout: 60_000 });
      expect(ran.status, `${file}: ${String(ran.stderr)}`).toBe(0);
    }
    const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], {
      cwd: checkout,
      encoding: 'utf8',
    });
    expect(status.stdout.split('\n').filter(Boolean)).toEqual(['?? .gitignore']);
  }, 120_000);

  it('claim-ledger-integration.mjs: a handler records the manifest id of its ledger client on the run and the artifact', () => {
    const result = runExample('claim-ledger-integration.mjs');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^run succeeded: manifests clm_[0-9a-f]{24}$/m);
    expect(result.stdout).toMatch(/^artifact claims\.json claim_ledger_ref clm_[0-9a-f]{24}$/m);
  });
});
