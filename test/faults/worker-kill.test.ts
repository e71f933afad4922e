import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EventDocument, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { dropMongoDatabase, sharedStores, unavailable } from '../support/backends.js';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli, startCli } from '../support/spawn-cli.js';
import { inPool, recordFigures } from './support/figures.js';

const ROUNDS = Number(process.env.FAULT_WORKER_KILLS ?? 4);
const STEPS = 12;

// Every attempt logs its execution (key and process), then does its side effect once per idempotency key, as a
// well-behaved step does; a takeover is the same attempt, so the same key. Paths are absolute: the workers are
// "machines" with their own directories, and the log stands for the outside world they all reach.
const handlers = (shared: string) => `
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
export function register(engine) {
  engine.registerHandler('work', async ({ step, idempotencyKey }) => {
    appendFileSync(${JSON.stringify(join(shared, 'executions.log'))}, step.key + ' ' + process.pid + '\\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    const effects = ${JSON.stringify(join(shared, 'effects.log'))};
    const done = existsSync(effects) ? readFileSync(effects, 'utf8').split('\\n') : [];
    if (!done.includes(idempotencyKey)) appendFileSync(effects, idempotencyKey + '\\n');
    return { by: process.pid };
  });
}
`;

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

interface Outcome {
  succeeded: boolean;
  problem?: string;
  stepsSucceeded: number;
  duplicateOutcomes: number;
  duplicateEffects: number;
  lost: number;
  takenOver: number;
}

/**
 * A run whose 12 steps run on two labelled workers (the driver, maestro-run, has not the label): one worker is
 * SIGKILLed while it executes an attempt; the other takes that attempt over once its lease expires.
 */
async function killAWorker(storeUrl: (root: string) => string): Promise<Outcome> {
  const root = mkdtempSync(join(tmpdir(), 'maestro-fault-worker-'));
  const dirs = ['driver', 'w1', 'w2'].map((name) => join(root, name)) as [string, string, string];
  for (const dir of dirs) mkdirSync(dir);
  const [driverDir, w1Dir, w2Dir] = dirs;
  writeFileSync(join(root, 'handlers.mjs'), handlers(root));
  writeFileSync(
    join(driverDir, 'plan.json'),
    JSON.stringify({
      name: 'worker-kill',
      defaults: { runs_on: ['x'] },
      steps: Array.from({ length: STEPS }, (_, i) => ({ id: `s${i}`, uses: 'handler', with: { handler: 'work' } })),
    }),
  );
  const url = storeUrl(root);
  const env = {
    MAESTRO_STORE: url,
    MAESTRO_LEASE_MS: '1000',
    MAESTRO_POLL_MS: '30',
    MAESTRO_HANDLERS: join(root, 'handlers.mjs'),
  };
  const workerArgs = ['worker', '--labels', 'x', '--max-attempts', '2'];
  const w1 = startCli(MAESTRO, workerArgs, { cwd: w1Dir, env, timeoutMs: 90_000 });
  const w2 = startCli(MAESTRO, workerArgs, { cwd: w2Dir, env, timeoutMs: 90_000 });
  try {
    const run = startCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd: driverDir, env, timeoutMs: 90_000 });
    // Killed while it executes an attempt: its first execution has started and sleeps.
    const executions = join(root, 'executions.log');
    while (!lines(executions).some((line) => line.endsWith(` ${w1.pid}`)) && run.exitCode === null) await sleep(5);
    await sleep(Math.random() * 200);
    w1.kill('SIGKILL');
    const ran = await run.output;
    const runId = (jsonLines(ran.stdout)[0] as { event: RunDocument }).event.run_id;
    const shown = JSON.parse(
      (await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd: driverDir, env })).stdout,
    ) as {
      run: RunDocument;
      steps: StepDocument[];
    };
    const events = jsonLines(
      (await runCli(MAESTRO, ['runs', 'events', runId, '--json'], { cwd: driverDir, env })).stdout,
    ) as unknown as EventDocument[];
    const outcomes = new Map<string, number>();
    for (const event of events.filter((e) => ['step.succeeded', 'step.failed'].includes(e.type)))
      outcomes.set(String(event.data.key), (outcomes.get(String(event.data.key)) ?? 0) + 1);
    const effects = new Map<string, number>();
    for (const key of lines(join(root, 'effects.log'))) {
      const step = key.split(':')[1]!;
      effects.set(step, (effects.get(step) ?? 0) + 1);
    }
    const succeeded = ran.code === 0 && shown.run.status === 'succeeded';
    return {
      succeeded,
      ...(succeeded
        ? {}
        : { problem: `run ${runId} ${shown.run.status}: ${ran.stderr.split('\n').slice(-5).join(' | ')}` }),
      stepsSucceeded: shown.steps.filter((step) => step.status === 'succeeded').length,
      duplicateOutcomes: [...outcomes.values()].filter((n) => n > 1).length,
      duplicateEffects: [...effects.values()].filter((n) => n > 1).length,
      lost: STEPS - effects.size,
      takenOver: events.filter((e) => e.type === 'step.started' && e.data.takeover === true).length,
    };
  } finally {
    w1.kill('SIGKILL');
    w2.kill('SIGTERM');
    await Promise.all([w1.output, w2.output]);
    if (url.startsWith('mongodb')) await dropMongoDatabase(url);
    rmSync(root, { recursive: true, force: true });
  }
}

const stores = sharedStores().map(({ name, available, url }) => ({ name, available, storeUrl: url }));

describe.each(stores)('kill -9 of a worker mid-attempt on $name', ({ name, available, storeUrl }) => {
  it.skipIf(unavailable(available))(
    `${ROUNDS} runs of ${STEPS} steps on two workers, one killed while it executes: taken over, 0 lost, 0 duplicated`,
    async () => {
      const outcomes = await inPool(Array.from({ length: ROUNDS }), 2, () => killAWorker(storeUrl));
      const sum = (pick: (o: Outcome) => number) => outcomes.reduce((total, o) => total + pick(o), 0);
      recordFigures({
        fault: `kill -9 of a worker mid-attempt (${name})`,
        runs: ROUNDS,
        kills: ROUNDS,
        steps: sum((o) => o.stepsSucceeded),
        duplicates: sum((o) => o.duplicateOutcomes + o.duplicateEffects),
        lost: sum((o) => o.lost),
        errors: outcomes.filter((o) => !o.succeeded).length,
        taken_over: sum((o) => o.takenOver),
      });
      expect(outcomes.filter((o) => !o.succeeded).map((o) => o.problem)).toEqual([]);
      expect(sum((o) => o.stepsSucceeded)).toBe(ROUNDS * STEPS);
      expect(sum((o) => o.duplicateOutcomes)).toBe(0);
      expect(sum((o) => o.duplicateEffects)).toBe(0);
      expect(sum((o) => o.lost)).toBe(0);
      // Every kill hit an attempt in flight, and another worker took it over as the same attempt.
      expect(outcomes.every((o) => o.takenOver >= 1)).toBe(true);
    },
    240_000,
  );
});
