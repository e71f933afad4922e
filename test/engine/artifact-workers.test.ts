import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArtifactDocument, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { dropMongoDatabase, sharedStores, unavailable } from '../support/backends.js';
import { MAESTRO, MAESTRO_RUN, runCli, startCli } from '../support/spawn-cli.js';

// What produce writes: about 150 KB of rows, so the file crosses the stores' piece size once.
const ROWS = 15_000;
const expectedBytes = Buffer.from(Array.from({ length: ROWS }, (_, i) => `${i},${i * i}`).join('\n'));
const PRODUCE = `const fs = require('fs'); fs.mkdirSync('out', { recursive: true });
fs.writeFileSync('out/report.csv', Array.from({ length: ${ROWS} }, (_, i) => i + ',' + i * i).join('\\n'));`;
const CONSUME = `const bytes = require('fs').readFileSync('in/report.csv');
const sha256 = require('crypto').createHash('sha256').update(bytes).digest('hex');
console.log(JSON.stringify({ sha256, size: bytes.length, cwd: process.cwd() }));`;

// Two "machines" with their own workspaces: produce runs only where label a is, consume only where b is.
const PLAN = {
  name: 'artifact-across-workers',
  steps: [
    {
      id: 'produce',
      uses: 'exec',
      runs_on: ['a'],
      with: { command: ['node', '-e', PRODUCE] },
      artifacts: [{ type: 'dataset', path: 'out/report.csv', name: 'report' }],
    },
    {
      id: 'consume',
      uses: 'exec',
      needs: ['produce'],
      runs_on: ['b'],
      with: { command: ['node', '-e', CONSUME] },
      artifacts_in: [{ step: 'produce', name: 'report', path: 'in/report.csv' }],
    },
  ],
};

const stores = sharedStores();

type Detail = { run: RunDocument; steps: StepDocument[]; artifacts: ArtifactDocument[] };

describe.each(stores)('an artifact file between two workers on $name', ({ available, url }) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it.skipIf(unavailable(available))(
    'the consumer on worker b reads the file produce wrote on worker a, through the store, by its digest',
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'maestro-artifact-workers-'));
      cleanup.push(() => rmSync(root, { recursive: true, force: true }));
      const storeUrl = url(root);
      if (storeUrl.startsWith('mongodb')) cleanup.push(() => dropMongoDatabase(storeUrl));
      const [client, a, b] = ['client', 'a', 'b'].map((name) => join(root, name)) as [string, string, string];
      for (const dir of [client, a, b]) mkdirSync(dir);
      writeFileSync(join(client, 'plan.json'), JSON.stringify(PLAN));
      const env = { MAESTRO_STORE: storeUrl, MAESTRO_POLL_MS: '50', MAESTRO_LEASE_MS: '3000' };
      const started = await runCli(MAESTRO_RUN, ['plan.json', '--detach', '--json'], { cwd: client, env });
      expect(started.code, started.stderr).toBe(0);
      const runId = (JSON.parse(started.stdout.trim().split('\n').at(-1)!) as { run: { run_id: string } }).run.run_id;
      for (const [dir, label] of [
        [a, 'a'],
        [b, 'b'],
      ] as const) {
        const worker = startCli(MAESTRO, ['worker', '--labels', label], { cwd: dir, env, timeoutMs: 110_000 });
        cleanup.push(async () => {
          worker.kill('SIGTERM');
          await worker.output;
        });
      }
      const show = async (): Promise<Detail> => {
        const shown = await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd: client, env });
        expect(shown.code, shown.stderr).toBe(0);
        return JSON.parse(shown.stdout) as Detail;
      };
      let detail = await show();
      for (let i = 0; i < 600 && !['succeeded', 'failed', 'cancelled'].includes(detail.run.status); i += 1) {
        await sleep(100);
        detail = await show();
      }
      const stepOf = (key: string) => detail.steps.find((step) => step.key === key)!;
      expect(detail.run.status, JSON.stringify(detail.steps.map((s) => [s.key, s.status, s.error_info]))).toBe(
        'succeeded',
      );
      const sha256 = createHash('sha256').update(expectedBytes).digest('hex');
      // The artifact's bytes are in the store, under the digest the consumer's copy has.
      const artifact = detail.artifacts.find((x) => x.name === 'report')!;
      expect(artifact).toMatchObject({ digest: { sha256 }, size_bytes: expectedBytes.length });
      expect(artifact.blob_id).toEqual(expect.any(String));
      expect(stepOf('consume').outputs).toEqual({ sha256, size: expectedBytes.length, cwd: b });
      // Each workspace holds only what its own step wrote: the file reached b through the store.
      expect(readFileSync(join(b, 'in/report.csv')).equals(expectedBytes)).toBe(true);
      expect(existsSync(join(b, 'out'))).toBe(false);
      expect(readFileSync(join(a, 'out/report.csv')).equals(expectedBytes)).toBe(true);
      expect(existsSync(join(a, 'in'))).toBe(false);
    },
    120_000,
  );
});
