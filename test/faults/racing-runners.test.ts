import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dropMongoDatabase, freshMongoUrl, mongoStoreEntries, requireBase, unavailable } from '../support/backends.js';
import { startRuns, writeCountingFixture } from '../support/counting-fixture.js';
import { MAESTRO, runCli, startCli } from '../support/spawn-cli.js';
import { recordFigures } from './support/figures.js';

const RUNS = 100;

/** The embedded store is one SQLite file the worker processes share, as they share a MongoDB database. */
const stores: Array<{ name: string; base: string | undefined }> = [
  { name: 'sqlite (file)', base: 'sqlite' },
  ...mongoStoreEntries(),
];

describe.each(stores)('racing runners on $name', ({ name, base }) => {
  it.skipIf(unavailable(base !== undefined))(
    `three worker processes over ${RUNS} runs: no step executed twice, no run stuck`,
    async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'maestro-fault-race-'));
      const url =
        base === 'sqlite' ? `sqlite://${join(cwd, '.maestro', 'maestro.db')}` : freshMongoUrl(requireBase(base));
      // Leases comfortably longer than a renewal under load: this test races claims, it does not expire leases.
      const env = { MAESTRO_STORE: url, MAESTRO_LEASE_MS: '15000', MAESTRO_POLL_MS: '20' };
      const fixture = writeCountingFixture(cwd, 'race');
      try {
        const planId = (
          JSON.parse((await runCli(MAESTRO, ['plans', 'apply', fixture.planFile, '--json'], { cwd, env })).stdout) as {
            plan_id: string;
          }
        ).plan_id;
        // The runs exist before the workers start, so all three race for the same ones from the first poll.
        expect(await startRuns(url, planId, RUNS)).toHaveLength(RUNS);
        const workers = [0, 1, 2].map(() =>
          startCli(MAESTRO, ['worker', '--handlers', fixture.handlersModule, '--max-runs', '6'], {
            cwd,
            env,
            timeoutMs: 240_000,
          }),
        );
        const started = Date.now();
        let succeeded = 0;
        while (Date.now() - started < 180_000) {
          succeeded = (
            JSON.parse(
              (
                await runCli(MAESTRO, ['runs', 'list', '--status', 'succeeded', '--limit', '500', '--json'], {
                  cwd,
                  env,
                })
              ).stdout,
            ) as { items: unknown[] }
          ).items.length;
          if (succeeded === RUNS) break;
          await sleep(500);
        }
        for (const worker of workers) worker.kill('SIGTERM');
        const exits = await Promise.all(workers.map((w) => w.output));
        const lines = existsSync(fixture.executionsLog)
          ? readFileSync(fixture.executionsLog, 'utf8').trim().split('\n')
          : [];
        const perStep = new Map<string, number>();
        // `<run> <step> <runner>`: one step is the first two fields, whichever runner ran it.
        for (const line of lines) {
          const step = line.split(' ').slice(0, 2).join(' ');
          perStep.set(step, (perStep.get(step) ?? 0) + 1);
        }
        const doubles = [...perStep.values()].filter((n) => n > 1).length;
        recordFigures({
          fault: `racing runners (3 workers, ${name})`,
          runs: RUNS,
          steps: lines.length,
          duplicates: doubles,
          lost: RUNS * fixture.stepsPerRun - perStep.size,
          errors: exits.filter((e) => e.code !== 0).length,
          stuck_runs: RUNS - succeeded,
          seconds: Math.round((Date.now() - started) / 1000),
        });
        expect(succeeded).toBe(RUNS);
        expect(doubles).toBe(0);
        expect(perStep.size).toBe(RUNS * fixture.stepsPerRun);
        expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);
      } finally {
        if (url.startsWith('mongodb')) await dropMongoDatabase(url);
      }
    },
  );
});
