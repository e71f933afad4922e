import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { dropMongoDatabase, sharedStores, unavailable } from '../support/backends.js';
import { MAESTRO, MAESTRO_RUN, runCli, startCli } from '../support/spawn-cli.js';

// Three "machines": a client that starts the run, a worker without labels, and one with gpu; each its own directory.
const PLAN = {
  name: 'train-on-gpu',
  steps: [
    { id: 'prep', uses: 'noop', with: { outputs: { n: 3 } } },
    {
      id: 'train',
      uses: 'exec',
      needs: ['prep'],
      runs_on: ['gpu'],
      with: { command: ['node', '-e', 'console.log(JSON.stringify({ cwd: process.cwd() }))'] },
    },
    { id: 'report', uses: 'noop', needs: ['train'], with: { outputs: { cwd: '${{ steps.train.outputs.cwd }}' } } },
  ],
};

const stores = sharedStores();

type Detail = { run: RunDocument; steps: StepDocument[] };

describe.each(stores)('runs_on labels on $name', ({ available, url }) => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it.skipIf(unavailable(available))(
    'a step with runs_on [gpu] waits while only an unlabelled worker runs, then runs on the gpu worker once it starts',
    async () => {
      const root = mkdtempSync(join(tmpdir(), 'maestro-labels-'));
      cleanup.push(() => rmSync(root, { recursive: true, force: true }));
      const storeUrl = url(root);
      if (storeUrl.startsWith('mongodb')) cleanup.push(() => dropMongoDatabase(storeUrl));
      const [client, plain, gpu] = ['client', 'plain', 'gpu'].map((name) => join(root, name)) as [
        string,
        string,
        string,
      ];
      for (const dir of [client, plain, gpu]) mkdirSync(dir);
      writeFileSync(join(client, 'plan.json'), JSON.stringify(PLAN));
      const env = { MAESTRO_STORE: storeUrl, MAESTRO_POLL_MS: '50', MAESTRO_LEASE_MS: '3000' };
      const started = await runCli(MAESTRO_RUN, ['plan.json', '--detach', '--json'], { cwd: client, env });
      expect(started.code, started.stderr).toBe(0);
      const runId = (JSON.parse(started.stdout.trim().split('\n').at(-1)!) as { run: { run_id: string } }).run.run_id;
      const show = async (): Promise<Detail> => {
        const shown = await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd: client, env });
        expect(shown.code, shown.stderr).toBe(0);
        return JSON.parse(shown.stdout) as Detail;
      };
      const stepOf = (detail: Detail, key: string) => detail.steps.find((step) => step.key === key)!;

      const plainWorker = startCli(MAESTRO, ['worker'], { cwd: plain, env, timeoutMs: 90_000 });
      cleanup.push(async () => {
        plainWorker.kill('SIGTERM');
        await plainWorker.output;
      });
      // The unlabelled worker drives the run: prep runs, train is offered and waits for a runner with gpu.
      let detail = await show();
      for (let i = 0; i < 300 && !stepOf(detail, 'train').offered_at; i += 1) {
        await sleep(100);
        detail = await show();
      }
      expect(stepOf(detail, 'prep').status).toBe('succeeded');
      expect(stepOf(detail, 'train').offered_at).toBeDefined();
      await sleep(1500);
      detail = await show();
      expect(stepOf(detail, 'train').status).toBe('pending');
      expect(stepOf(detail, 'train').attempt).toBe(0);
      expect(detail.run.status).toBe('running');
      const human = await runCli(MAESTRO, ['runs', 'show', runId], { cwd: client, env });
      expect(human.stdout).toContain('waits for a runner with labels gpu');

      const gpuWorker = startCli(MAESTRO, ['worker', '--labels', 'gpu'], { cwd: gpu, env, timeoutMs: 90_000 });
      cleanup.push(async () => {
        gpuWorker.kill('SIGTERM');
        await gpuWorker.output;
      });
      for (let i = 0; i < 300 && !['succeeded', 'failed'].includes(detail.run.status); i += 1) {
        await sleep(100);
        detail = await show();
      }
      expect(detail.run.status).toBe('succeeded');
      const train = stepOf(detail, 'train');
      // Executed once, by the gpu worker, in its own workspace; the other steps by the worker that drove the run.
      expect(train.attempt).toBe(1);
      expect(train.attempt_result?.runner).toContain(`:${gpuWorker.pid}:`);
      expect(train.outputs).toMatchObject({ cwd: gpu });
      expect(stepOf(detail, 'report').lease?.owner).toContain(`:${plainWorker.pid}:`);
      expect(train.offered_at).toBeUndefined();
    },
    120_000,
  );
});
