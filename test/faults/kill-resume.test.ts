import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EventDocument, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { dropMongoDatabase, freshMongoUrl, mongoStoreEntries, requireBase, unavailable } from '../support/backends.js';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli, startCli } from '../support/spawn-cli.js';
import { inPool, recordFigures } from './support/figures.js';

const RUNS = Number(process.env.FAULT_RUNS ?? 20);
const STEPS = 30;

// Steps are handlers in the runner process (killed with it). Each logs every execution, and performs its side
// effect once per idempotency key, as a well-behaved step does. A hook logs every delivery.
const HANDLERS = `
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
export function register(engine) {
  engine.registerHandler('work', async ({ step, idempotencyKey }) => {
    appendFileSync('executions.log', step.key + '\\n');
    await new Promise((resolve) => setTimeout(resolve, 15));
    const done = existsSync('effects.log') ? readFileSync('effects.log', 'utf8').split('\\n') : [];
    if (!done.includes(idempotencyKey)) appendFileSync('effects.log', idempotencyKey + '\\n');
    return { key: step.key };
  });
}
`;
const HOOK = `
import { appendFileSync } from 'node:fs';
export function createHook() {
  return { name: 'delivery-log', on: { '*': (event) => appendFileSync('deliveries.log', event.seq + '\\n') } };
}
`;

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

interface Outcome {
  succeeded: boolean;
  /** What went wrong, for the failure message. */
  problem?: string;
  stepsSucceeded: number;
  effectDuplicates: number;
  lostEffects: number;
  reExecutions: number;
  gapFree: boolean;
  undelivered: number;
  /** The events never delivered to the hook (`run seq type`), to say which when there are any. */
  undeliveredEvents: string[];
  duplicateStepEvents: number;
}

/** One run: start it, SIGKILL the runner at a random moment, resume it in a new process, then check everything. */
async function killAndResume(storeUrl: (cwd: string) => string): Promise<Outcome> {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-fault-kill-'));
  writeFileSync(join(cwd, 'handlers.mjs'), HANDLERS);
  writeFileSync(join(cwd, 'hook.mjs'), HOOK);
  writeFileSync(join(cwd, 'hooks.json'), JSON.stringify({ hooks: { 'delivery-log': { module: './hook.mjs' } } }));
  writeFileSync(
    join(cwd, 'plan.json'),
    JSON.stringify({
      name: 'fault-kill',
      hooks: ['delivery-log'],
      concurrency: 3,
      steps: Array.from({ length: STEPS }, (_, i) => ({
        id: `s${i}`,
        uses: 'handler',
        with: { handler: 'work' },
        ...(i >= 3 ? { needs: [`s${i - 3}`] } : {}),
      })),
    }),
  );
  const url = storeUrl(cwd);
  const env = {
    MAESTRO_STORE: url,
    MAESTRO_LEASE_MS: '1000',
    MAESTRO_POLL_MS: '30',
    MAESTRO_HANDLERS: 'handlers.mjs',
    MAESTRO_HOOKS_CONFIG: 'hooks.json',
  };
  try {
    const first = startCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd, env });
    let stdout = '';
    first.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    while (!stdout.includes('"run.started"') && first.exitCode === null) await sleep(5);
    await sleep(50 + Math.random() * 400);
    first.kill('SIGKILL');
    await first.output;
    const runId = (jsonLines(stdout.split('\n')[0]!)[0] as { event: RunDocument }).event.run_id;
    const resumed = await runCli(MAESTRO_RUN, ['--resume', runId, '--json'], { cwd, env, timeoutMs: 90_000 });
    const shown = JSON.parse((await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd, env })).stdout) as {
      run: RunDocument;
      steps: StepDocument[];
    };
    const events = jsonLines(
      (await runCli(MAESTRO, ['runs', 'events', runId, '--json'], { cwd, env })).stdout,
    ) as unknown as EventDocument[];
    const effects = countBy(lines(join(cwd, 'effects.log')).map((key) => key.split(':').slice(0, 2).join(':')));
    const executions = lines(join(cwd, 'executions.log'));
    const delivered = new Set(lines(join(cwd, 'deliveries.log')).map(Number));
    const succeededEvents = countBy(events.filter((e) => e.type === 'step.succeeded').map((e) => String(e.data.key)));
    const succeeded = resumed.code === 0 && shown.run.status === 'succeeded';
    return {
      succeeded,
      ...(succeeded
        ? {}
        : {
            problem: `run ${runId} ${shown.run.status} (exit ${resumed.code}): ${resumed.stderr.split('\n').slice(-6).join(' | ')}`,
          }),
      stepsSucceeded: shown.steps.filter((s) => s.status === 'succeeded').length,
      effectDuplicates: [...effects.values()].filter((n) => n > 1).length,
      lostEffects: STEPS - effects.size,
      reExecutions: executions.length - STEPS,
      gapFree: events.every((e, i) => e.seq === i + 1),
      undelivered: events.filter((e) => !delivered.has(e.seq)).length,
      undeliveredEvents: events
        .filter((e) => !delivered.has(e.seq))
        .map((e) => `${runId} ${e.seq} ${e.type}${e.data.recovered ? ' (recovered)' : ''} of ${events.length}`),
      duplicateStepEvents: [...succeededEvents.values()].filter((n) => n > 1).length,
    };
  } finally {
    if (url.startsWith('mongodb')) await dropMongoDatabase(url);
  }
}

const stores: Array<{ name: string; available: boolean; storeUrl: (cwd: string) => string }> = [
  {
    name: 'sqlite (file)',
    available: true,
    storeUrl: (cwd: string) => `sqlite://${join(cwd, '.maestro', 'maestro.db')}`,
  },
  ...mongoStoreEntries().map(({ name, base }) => ({
    name,
    available: base !== undefined,
    storeUrl: () => freshMongoUrl(requireBase(base)),
  })),
];

describe.each(stores)('kill -9 at random points, then resume, on $name', ({ name, available, storeUrl }) => {
  it.skipIf(unavailable(available))(
    `${RUNS} runs of ${STEPS} steps: all succeed, every effect once, events gap-free, every hook delivery made`,
    async () => {
      const outcomes = await inPool(Array.from({ length: RUNS }), 4, () => killAndResume(storeUrl));
      const sum = (pick: (o: Outcome) => number) => outcomes.reduce((total, o) => total + pick(o), 0);
      recordFigures({
        fault: `kill -9 + resume (${name})`,
        runs: RUNS,
        kills: RUNS,
        steps: sum((o) => o.stepsSucceeded),
        duplicates: sum((o) => o.effectDuplicates + o.duplicateStepEvents),
        lost: sum((o) => o.lostEffects + o.undelivered),
        errors: outcomes.filter((o) => !o.succeeded || !o.gapFree).length,
        re_executions: sum((o) => o.reExecutions),
      });
      expect(outcomes.filter((o) => !o.succeeded).map((o) => o.problem)).toEqual([]);
      expect(sum((o) => o.stepsSucceeded)).toBe(RUNS * STEPS);
      expect(sum((o) => o.effectDuplicates)).toBe(0);
      expect(sum((o) => o.lostEffects)).toBe(0);
      expect(sum((o) => o.duplicateStepEvents)).toBe(0);
      expect(outcomes.every((o) => o.gapFree)).toBe(true);
      expect(outcomes.flatMap((o) => o.undeliveredEvents)).toEqual([]);
    },
  );
});
