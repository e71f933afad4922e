import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EventDocument, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { dropMongoDatabase, freshMongoUrl, mongoStoreEntries, requireBase, unavailable } from '../support/backends.js';
import { startRuns, writeCountingFixture } from '../support/counting-fixture.js';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli, startCli } from '../support/spawn-cli.js';

// Each execution is logged; the side effect is written once per idempotency key, as a well-behaved step does.
const STEP_SCRIPT = `
const fs = require('fs');
const [executions, effects] = process.argv.slice(2);
fs.appendFileSync(executions, process.env.MAESTRO_STEP_KEY + '\\n');
const key = process.env.MAESTRO_IDEMPOTENCY_KEY;
const seen = fs.existsSync(effects) ? fs.readFileSync(effects, 'utf8').split('\\n') : [];
if (!seen.includes(key)) fs.appendFileSync(effects, key + '\\n');
console.log(JSON.stringify({ key }));
`;

function countLines(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(path)) return counts;
  for (const line of readFileSync(path, 'utf8').split('\n').filter(Boolean))
    counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

function chainPlan(workspace: string, steps: number): string {
  writeFileSync(join(workspace, 'step.cjs'), STEP_SCRIPT);
  const plan = {
    name: 'chain',
    steps: Array.from({ length: steps }, (_, i) => ({
      id: `s${i}`,
      uses: 'exec',
      ...(i > 0 ? { needs: [`s${i - 1}`] } : {}),
      with: { command: ['node', 'step.cjs', 'executions.log', 'effects.log'] },
    })),
  };
  writeFileSync(join(workspace, 'chain.json'), JSON.stringify(plan));
  return 'chain.json';
}

interface Stored {
  run: RunDocument;
  steps: StepDocument[];
  events: EventDocument[];
}

async function readRun(cwd: string, env: Record<string, string>, runId: string): Promise<Stored> {
  const shown = JSON.parse((await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd, env })).stdout) as Stored;
  const events = jsonLines(
    (await runCli(MAESTRO, ['runs', 'events', runId, '--json'], { cwd, env })).stdout,
  ) as unknown as EventDocument[];
  return { ...shown, events };
}

const stores: Array<{ name: string; available: boolean; url: () => string }> = [
  { name: 'sqlite (file)', available: true, url: () => 'sqlite://.maestro/maestro.db' },
  ...mongoStoreEntries().map(({ name, base }) => ({
    name,
    available: base !== undefined,
    url: () => freshMongoUrl(requireBase(base)),
  })),
];

describe.each(stores)('runner processes on $name', ({ available, url }) => {
  it.skipIf(unavailable(available))(
    'resumes a run in a new process after its runner is SIGKILLed: every step ends exactly once',
    async () => {
      const storeUrl = url();
      const cwd = mkdtempSync(join(tmpdir(), 'maestro-kill-'));
      const env = { MAESTRO_STORE: storeUrl, MAESTRO_LEASE_MS: '1500', MAESTRO_POLL_MS: '50' };
      const steps = 30;
      const planFile = chainPlan(cwd, steps);
      try {
        const first = startCli(MAESTRO_RUN, [planFile, '--json'], { cwd, env });
        // Kill it somewhere in the middle: after a random number of finished steps.
        const killAfter = 3 + Math.floor(Math.random() * 20);
        let stdout = '';
        first.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        while ((stdout.match(/"step\.succeeded"/g) ?? []).length < killAfter && first.exitCode === null)
          await sleep(10);
        first.kill('SIGKILL');
        await first.output;
        const runId = (jsonLines(stdout.split('\n').slice(0, 1).join('\n'))[0] as { event: { run_id: string } }).event
          .run_id;

        const resumed = await runCli(MAESTRO_RUN, ['--resume', runId, '--json'], { cwd, env, timeoutMs: 60_000 });
        expect(resumed.code).toBe(0);

        const { run, steps: stored, events } = await readRun(cwd, env, runId);
        expect(run.status).toBe('succeeded');
        expect(stored.every((s) => s.status === 'succeeded')).toBe(true);
        const succeededEvents = events.filter((e) => e.type === 'step.succeeded').map((e) => e.data.key);
        expect(succeededEvents).toHaveLength(steps);
        expect(new Set(succeededEvents).size).toBe(steps);
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        const effects = countLines(join(cwd, 'effects.log'));
        expect(effects.size).toBe(steps);
        expect([...effects.values()].every((n) => n === 1)).toBe(true);
        const executions = countLines(join(cwd, 'executions.log'));
        const total = [...executions.values()].reduce((a, b) => a + b, 0);
        // At least once: only the step cut off by the kill may have started twice.
        expect(executions.size).toBe(steps);
        expect(total - steps).toBeLessThanOrEqual(1);
        console.log(
          `kill test: killed after ${killAfter} steps; executions ${total} for ${steps} steps; effects once each`,
        );
      } finally {
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
    90_000,
  );
});

/** The embedded store is a file several processes share (SQLite WAL), as a MongoDB database is. */
const sharedStores: Array<{ name: string; base: string | undefined }> = [
  { name: 'sqlite (file)', base: 'sqlite' },
  ...mongoStoreEntries(),
];

describe.each(sharedStores)('several runner processes on one $name', ({ base }) => {
  it.skipIf(unavailable(base !== undefined))(
    'three workers share 50 runs and never execute a step twice',
    async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'maestro-workers-'));
      const storeUrl =
        base === 'sqlite' ? `sqlite://${join(cwd, '.maestro', 'maestro.db')}` : freshMongoUrl(requireBase(base));
      const env = { MAESTRO_STORE: storeUrl, MAESTRO_LEASE_MS: '15000', MAESTRO_POLL_MS: '50' };
      const fixture = writeCountingFixture(cwd, 'shared');
      try {
        const planId = (
          JSON.parse((await runCli(MAESTRO, ['plans', 'apply', fixture.planFile, '--json'], { cwd, env })).stdout) as {
            plan_id: string;
          }
        ).plan_id;
        const workers = [0, 1, 2].map(() =>
          startCli(MAESTRO, ['worker', '--handlers', fixture.handlersModule, '--max-runs', '4'], {
            cwd,
            env,
            timeoutMs: 120_000,
          }),
        );
        const runs = 50;
        expect(await startRuns(storeUrl, planId, runs)).toHaveLength(runs);
        const deadline = Date.now() + 90_000;
        let finished = 0;
        while (Date.now() < deadline) {
          const listed = JSON.parse(
            (await runCli(MAESTRO, ['runs', 'list', '--json', '--status', 'succeeded', '--limit', '100'], { cwd, env }))
              .stdout,
          ) as { items: unknown[] };
          finished = listed.items.length;
          if (finished === runs) break;
          await sleep(300);
        }
        for (const worker of workers) worker.kill('SIGTERM');
        const exits = await Promise.all(workers.map((w) => w.output));
        expect(finished).toBe(runs);
        expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);
        const executions = countLines(fixture.executionsLog);
        const perStep = new Map<string, number>();
        const perRunner = new Map<string, number>();
        for (const [line, count] of executions) {
          const [runId, key, runner] = line.split(' ');
          perStep.set(`${runId} ${key}`, (perStep.get(`${runId} ${key}`) ?? 0) + count);
          perRunner.set(runner!, (perRunner.get(runner!) ?? 0) + count);
        }
        expect(perStep.size).toBe(runs * fixture.stepsPerRun);
        expect([...perStep.values()].filter((n) => n > 1)).toEqual([]);
        console.log(
          `three workers: ${runs} runs, ${perStep.size} steps, executions per runner ${[...perRunner.values()].join('/')}, double executions 0`,
        );
      } finally {
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
    150_000,
  );
});
