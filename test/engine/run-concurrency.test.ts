import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Plan, RunDocument } from '../../src/generated/schemas.js';
import { isMaestroError } from '../../src/domain/errors.js';
import { ConcurrencyGate } from '../../src/engine/runs/concurrency-gate.js';
import { Engine } from '../../src/maestro-engine.js';
import { openStore } from '../../src/store/open.js';
import { dropMongoDatabase, freshMongoUrl, mongoStoreEntries, requireBase, unavailable } from '../support/backends.js';
import { makeRun } from '../support/documents.js';
import { MAESTRO, startCli } from '../support/spawn-cli.js';

function deployPlan(onConflict: 'queue' | 'cancel_in_progress' | 'skip', sleepMs: number): Plan {
  return {
    name: `deploy-${onConflict.replace(/_/g, '-')}`,
    inputs: { type: 'object', properties: { env: { type: 'string' } }, required: ['env'] },
    concurrency: { group: 'deploy-${{ inputs.env }}', limit: 1, on_conflict: onConflict },
    steps: [{ id: 'work', uses: 'sleep', with: { ms: sleepMs } }],
  };
}

describe('concurrency groups in one process', () => {
  it('skip starts nothing while the group is full; another group is not held', async () => {
    const store = await openStore('memory://');
    const engine = new Engine({ store });
    try {
      const { plan } = await engine.applyPlan(deployPlan('skip', 10));
      const first = await engine.startRun(plan, { inputs: { env: 'prod' } });
      expect(first.run.concurrency).toEqual({ group: 'deploy-prod', limit: 1 });
      await expect(engine.startRun(plan, { inputs: { env: 'prod' } })).rejects.toSatisfy((error: unknown) =>
        isMaestroError(error, 'CONCURRENCY_LIMIT'),
      );
      expect((await engine.startRun(plan, { inputs: { env: 'dev' } })).created).toBe(true);
      await engine.executeRun(first.run.run_id);
      expect((await engine.startRun(plan, { inputs: { env: 'prod' } })).created).toBe(true);
    } finally {
      engine.close();
      await store.close();
    }
  });
});

describe('concurrency gate', () => {
  it('a run created earlier but stored after a later run of its group started waits for that run', async () => {
    const store = await openStore('memory://');
    const gate = new ConcurrencyGate(store, async () => undefined);
    try {
      const group = { group: 'deploy-prod', limit: 1 };
      const older = makeRun({ created_at: '2026-12-07T10:00:00.000Z', concurrency: group });
      const younger = makeRun({ created_at: '2026-12-07T10:00:00.500Z', concurrency: group, status: 'running' });
      // The younger run is stored and started first (the older one's insert waited for the write lock elsewhere).
      await store.createRun(younger, []);
      await store.createRun(older, []);
      expect(await gate.mayGoOn(older)).toBe(false);
      // A started run never waits (a runner resuming it goes on), and the older one goes once it has ended.
      expect(await gate.mayGoOn(younger)).toBe(true);
      await store.updateRun(younger.run_id, { statusIn: ['running'] }, { status: 'succeeded' });
      expect(await gate.mayGoOn(older)).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe.each(mongoStoreEntries())('concurrency groups under three worker processes on $name', ({ base }) => {
  it.skipIf(unavailable(base !== undefined))(
    'queue runs one prod deploy at a time in creation order, dev beside it; cancel_in_progress leaves the newest',
    async () => {
      const storeUrl = freshMongoUrl(requireBase(base));
      const cwd = mkdtempSync(join(tmpdir(), 'maestro-concurrency-'));
      const env = { MAESTRO_STORE: storeUrl, MAESTRO_POLL_MS: '50' };
      const store = await openStore(storeUrl);
      const engine = new Engine({ store });
      const workers = [0, 1, 2].map(() =>
        startCli(MAESTRO, ['worker', '--max-runs', '4'], { cwd, env, timeoutMs: 150_000 }),
      );
      const waitForEnd = async (runs: RunDocument[]) => {
        const deadline = Date.now() + 90_000;
        for (;;) {
          const now = await Promise.all(runs.map((run) => store.getRun(run.run_id)));
          if (now.every((run) => run && ['succeeded', 'failed', 'cancelled'].includes(run.status)))
            return now as RunDocument[];
          if (Date.now() > deadline) throw new Error(`runs still going: ${now.map((r) => r?.status).join(',')}`);
          await sleep(200);
        }
      };
      const interval = async (run: RunDocument) => {
        const [step] = await store.listSteps(run.run_id);
        return { start: Date.parse(step!.started_at!), end: Date.parse(step!.ended_at!) };
      };
      try {
        const { plan: queued } = await engine.applyPlan(deployPlan('queue', 300));
        const prod: RunDocument[] = [];
        const dev: RunDocument[] = [];
        for (let i = 0; i < 5; i += 1) prod.push((await engine.startRun(queued, { inputs: { env: 'prod' } })).run);
        for (let i = 0; i < 2; i += 1) dev.push((await engine.startRun(queued, { inputs: { env: 'dev' } })).run);
        expect((await waitForEnd([...prod, ...dev])).map((run) => run.status)).toEqual(Array(7).fill('succeeded'));
        const prodIntervals = await Promise.all(prod.map(interval));
        // One after another, in the order they were started: each starts after the one before it ended.
        for (let i = 1; i < prodIntervals.length; i += 1)
          expect(prodIntervals[i]!.start).toBeGreaterThanOrEqual(prodIntervals[i - 1]!.end);
        // dev was not held behind prod: its first deploy started while prod's queue was still draining.
        const devIntervals = await Promise.all(dev.map(interval));
        expect(devIntervals[0]!.start).toBeLessThan(prodIntervals.at(-1)!.start);

        const { plan: replacing } = await engine.applyPlan(deployPlan('cancel_in_progress', 3000));
        const deploys: RunDocument[] = [];
        for (let i = 0; i < 5; i += 1) {
          deploys.push((await engine.startRun(replacing, { inputs: { env: 'prod' } })).run);
          await sleep(300);
        }
        const ended = await waitForEnd(deploys);
        expect(ended.map((run) => run.status)).toEqual([
          'cancelled',
          'cancelled',
          'cancelled',
          'cancelled',
          'succeeded',
        ]);
        console.log(
          `concurrency on ${storeUrl.split('/')[2]}: 3 workers, 5 prod deploys one at a time, dev beside them; cancel_in_progress left the newest`,
        );
      } finally {
        for (const worker of workers) worker.kill('SIGTERM');
        await Promise.all(workers.map((w) => w.output));
        engine.close();
        await store.close();
        await dropMongoDatabase(storeUrl);
      }
    },
    150_000,
  );
});
