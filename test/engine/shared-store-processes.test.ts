import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDocument } from '../../src/generated/schemas.js';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli, startCli, startServe, type CliResult } from '../support/spawn-cli.js';

/**
 * Issue 28: `maestro serve` (runner on), two `maestro worker`s and the CLI's writing commands on ONE SQLite file at
 * the same time. Real binaries (dist/ must be built). Bounded for CI on 2 cores: 100 runs of 2 handler steps.
 */
const RUNS = 100;
const STEPS_PER_RUN = 2;
const GROUP_RUNS = 4;
const TOKEN = 'shared-store-admin-token-0123456789';
/** How long serve alone gets to fire ticks and run them, before the workers start. */
const SERVE_ALONE_MS = 6_000;
const SETTLE_DEADLINE_MS = 60_000;
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

// Every execution of a `count` step appends `<run_id> <step key> <pid>`: the steps count themselves, per process.
const HANDLERS = `
import { appendFileSync } from 'node:fs';
export function register(engine) {
  engine.registerHandler('count', async ({ run, step }) => {
    appendFileSync('executions.log', run.run_id + ' ' + step.key + ' ' + process.pid + '\\n');
    // A step takes a moment, as real ones do: one runner cannot finish the batch before the others have looked.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { done: true };
  });
}
`;

const count = (id: string, needs?: string[]) => ({
  id,
  uses: 'handler',
  with: { handler: 'count' },
  ...(needs ? { needs } : {}),
});

const PLANS = {
  'shared.json': { name: 'shared', steps: [count('a'), count('b', ['a'])] },
  // Runs of one group with limit 1: each holds its slot 300 ms, so overlapping runs would show in their times.
  'group.json': {
    name: 'serial',
    concurrency: { group: 'one-at-a-time', limit: 1 },
    steps: [{ id: 'hold', uses: 'sleep', with: { ms: 300 } }, count('after', ['hold'])],
  },
  'slow.json': { name: 'slow', steps: [{ id: 'long', uses: 'sleep', with: { ms: 120_000 } }] },
  // Every second; `one`: a tick a runner looks at late (its loop looks once a second) still fires, so each look fires.
  'tick.json': { name: 'tick', schedule: { cron: '* * * * * *', catchup: 'one' }, steps: [count('tock')] },
  'foreground.json': { name: 'foreground', steps: [count('one'), count('two', ['one'])] },
  'extra.json': { name: 'extra', steps: [{ id: 'n', uses: 'noop' }] },
};

interface Command {
  name: string;
  result: CliResult;
}

interface Scenario {
  commands: Command[];
  sharedRunIds: string[];
  groupRunIds: string[];
  cancelledRunId: string;
  foregroundRunId: string;
  runs: RunDocument[];
  executions: string[];
  servePid: number;
  workerPids: number[];
  /** Tick runs that existed while serve ran alone, as they were when the workers started. */
  ticksWhileServeAlone: RunDocument[];
  pausedAt: number;
  settledMs: number;
}

const cwd = mkdtempSync(join(tmpdir(), 'maestro-shared-store-'));
const url = `sqlite://${join(cwd, 'maestro.db')}`;
const env = { MAESTRO_STORE: url, MAESTRO_POLL_MS: '50', MAESTRO_LEASE_MS: '10000' };

async function allRuns(store: RunStore): Promise<RunDocument[]> {
  const runs: RunDocument[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listRuns({}, { limit: 200, ...(cursor ? { cursor } : {}) });
    runs.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return runs;
}

function must(command: Command): CliResult {
  if (command.result.code !== 0)
    throw new Error(`${command.name} exited ${command.result.code}: ${command.result.stderr.slice(0, 2000)}`);
  return command.result;
}

async function cli(commands: Command[], name: string, bin: string, args: string[]): Promise<CliResult> {
  const result = await runCli(bin, args, { cwd, env, timeoutMs: 60_000 });
  commands.push({ name, result });
  return result;
}

async function runScenario(): Promise<Scenario> {
  writeFileSync(join(cwd, 'count.mjs'), HANDLERS);
  for (const [file, plan] of Object.entries(PLANS)) writeFileSync(join(cwd, file), JSON.stringify(plan));
  writeFileSync(
    join(cwd, 'tokens.json'),
    JSON.stringify({ tokens: [{ token: TOKEN, owner: 'local', role: 'admin' }] }),
  );
  const commands: Command[] = [];
  await cli(commands, 'plans apply shared.json', MAESTRO, ['plans', 'apply', 'shared.json', '--json']);
  const sharedPlanId = (JSON.parse(must(commands.at(-1)!).stdout) as { plan_id: string }).plan_id;

  const store = await openStore(url);
  const { server, url: api } = await startServe(['--tokens', 'tokens.json', '--handlers', 'count.mjs', '--no-ui'], {
    cwd,
    env,
    timeoutMs: 150_000,
  });
  const workers: Array<ReturnType<typeof startCli>> = [];
  try {
    // Serve alone: a plan with a schedule applied beside it; the ticks it fires must run on its runner.
    await cli(commands, 'plans apply tick.json', MAESTRO, ['plans', 'apply', 'tick.json', '--json']);
    const scheduleId = (JSON.parse(must(commands.at(-1)!).stdout) as { schedule: { schedule_id: string } }).schedule
      .schedule_id;
    const aloneUntil = Date.now() + SERVE_ALONE_MS;
    let ticksWhileServeAlone: RunDocument[] = [];
    while (Date.now() < aloneUntil) {
      ticksWhileServeAlone = (await allRuns(store)).filter((run) => run.schedule_id === scheduleId);
      // Two ticks fired and both ended: serve runs what it fires; no need to wait out the window.
      if (ticksWhileServeAlone.length >= 2 && ticksWhileServeAlone.every((run) => TERMINAL.has(run.status))) break;
      await sleep(100);
    }

    for (let i = 0; i < 2; i += 1)
      workers.push(
        startCli(MAESTRO, ['worker', '--handlers', 'count.mjs', '--max-runs', '4'], { cwd, env, timeoutMs: 150_000 }),
      );
    // Both workers poll before the batch starts: on a busy machine a worker still starting would find it done.
    await Promise.all(workers.map((worker) => untilPolling(worker)));

    // Everything at once: 100 runs over the API (no execute: whichever runner claims first runs them), runs of a concurrency
    // group detached from the CLI, a foreground maestro-run, a cancel, a schedule pause and a plan apply.
    const startShared = async (): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < RUNS; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: 10 }, async () => {
            const response = await fetch(`${api}/v1/runs`, {
              method: 'POST',
              headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
              body: JSON.stringify({ plan_id: sharedPlanId }),
            });
            const body = (await response.json()) as { run_id?: string };
            if (response.status !== 201 || !body.run_id)
              throw new Error(`POST /v1/runs answered ${response.status}: ${JSON.stringify(body)}`);
            return body.run_id;
          }),
        );
        ids.push(...batch);
      }
      return ids;
    };
    const detach = async (plan: string): Promise<string> => {
      const result = await cli(commands, `maestro-run --detach ${plan}`, MAESTRO_RUN, [plan, '--detach', '--json']);
      return (jsonLines(result.stdout)[0] as { run?: { run_id: string } } | undefined)?.run?.run_id ?? '';
    };
    let pausedAt = 0;
    const [sharedRunIds, groupRunIds, foreground, cancelledRunId] = await Promise.all([
      startShared(),
      // One after another: runs of a group created at the same moment by several processes can both go on (the gate
      // orders by created_at, taken before the insert waits for the write lock, so an older run can appear after a
      // younger one has started; seen here once in 4-5 tries with concurrent detaches). Reported; not this test's.
      (async () => {
        const ids: string[] = [];
        for (let i = 0; i < GROUP_RUNS; i += 1) ids.push(await detach('group.json'));
        return ids;
      })(),
      cli(commands, 'maestro-run foreground.json', MAESTRO_RUN, [
        'foreground.json',
        '--handlers',
        'count.mjs',
        '--json',
      ]),
      (async () => {
        const runId = await detach('slow.json');
        // Once a runner has it running, so the cancel reaches a runner, not only the stored run.
        const until = Date.now() + 20_000;
        while (Date.now() < until && (await store.getRun(runId))?.status !== 'running') await sleep(50);
        await cli(commands, 'runs cancel', MAESTRO, ['runs', 'cancel', runId]);
        return runId;
      })(),
      (async () => {
        await cli(commands, 'schedules pause', MAESTRO, ['schedules', 'pause', scheduleId]);
        pausedAt = Date.now();
      })(),
      cli(commands, 'plans apply extra.json', MAESTRO, ['plans', 'apply', 'extra.json']),
    ]);
    const foregroundRunId =
      (jsonLines(foreground.stdout).find((line) => line.type === 'result') as { run?: { run_id: string } } | undefined)
        ?.run?.run_id ?? '';

    // Until every run in the store has ended (any left pending or running by then is stuck).
    const settleStarted = Date.now();
    let runs = await allRuns(store);
    while (Date.now() - settleStarted < SETTLE_DEADLINE_MS && runs.some((run) => !TERMINAL.has(run.status))) {
      await sleep(250);
      runs = await allRuns(store);
    }
    const settledMs = Date.now() - settleStarted;

    const stopped = [server, ...workers].map((child) => {
      child.kill('SIGTERM');
      return child.output;
    });
    const [serveExit, ...workerExits] = await Promise.all(stopped);
    commands.push({ name: 'serve', result: serveExit! });
    workerExits.forEach((result, i) => commands.push({ name: `worker ${i + 1}`, result }));
    return {
      commands,
      sharedRunIds,
      groupRunIds,
      cancelledRunId,
      foregroundRunId,
      runs: await allRuns(store),
      executions: existsSync(join(cwd, 'executions.log'))
        ? readFileSync(join(cwd, 'executions.log'), 'utf8').split('\n').filter(Boolean)
        : [],
      servePid: server.pid!,
      workerPids: workers.map((worker) => worker.pid!),
      ticksWhileServeAlone,
      pausedAt,
      settledMs,
    };
  } finally {
    for (const child of [server, ...workers]) if (child.exitCode === null) child.kill('SIGKILL');
    await store.close();
  }
}

/** Resolves once a `maestro worker` has logged that it polls the store. */
async function untilPolling(worker: ReturnType<typeof startCli>): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    worker.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('worker polling')) resolve();
    });
    worker.once('exit', () => reject(new Error(`worker exited before polling: ${seen.slice(0, 500)}`)));
  });
}

let scenario: Scenario;

describe('serve, two workers and the CLI on one SQLite file at once', () => {
  beforeAll(async () => {
    scenario = await runScenario();
  }, 150_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('every command and process succeeds', () => {
    const failed = scenario.commands
      .filter((command) => command.result.code !== 0)
      .map((command) => `${command.name}: exit ${command.result.code} ${command.result.stderr.slice(0, 500)}`);
    expect(failed).toEqual([]);
    // 2 applies before, the group's detaches, slow detach, foreground, cancel, pause, extra apply, serve, 2 workers
    expect(scenario.commands).toHaveLength(GROUP_RUNS + 10);
    const byId = new Map(scenario.runs.map((run) => [run.run_id, run]));
    expect(byId.get(scenario.foregroundRunId)?.status).toBe('succeeded');
    expect(byId.get(scenario.cancelledRunId)?.status).toBe('cancelled');
  });

  it(`${RUNS} runs shared by the racing runners: every step executed once, no run stuck`, () => {
    const stuck = scenario.runs
      .filter((run) => !TERMINAL.has(run.status))
      .map((run) => `${run.plan_name} ${run.status}`);
    expect(stuck, `runs not ended ${SETTLE_DEADLINE_MS} ms after the commands`).toEqual([]);
    const shared = new Set(scenario.sharedRunIds);
    expect(shared.size).toBe(RUNS);
    const statuses = scenario.runs.filter((run) => shared.has(run.run_id)).map((run) => run.status);
    expect(statuses).toEqual(Array.from({ length: RUNS }, () => 'succeeded'));
    const perStep = new Map<string, number>();
    const perProcess = new Map<string, number>();
    for (const line of scenario.executions) {
      const [runId, key, pid] = line.split(' ');
      if (!shared.has(runId!)) continue;
      perStep.set(`${runId} ${key}`, (perStep.get(`${runId} ${key}`) ?? 0) + 1);
      perProcess.set(pid!, (perProcess.get(pid!) ?? 0) + 1);
    }
    expect(perStep.size).toBe(RUNS * STEPS_PER_RUN);
    expect([...perStep].filter(([, n]) => n > 1)).toEqual([]);
    // The runners shared the work: serve's own runner takes runs started without execute, as workers do. Which
    // runner wins each claim is up to the store's write lock (not fair), so one of them may get none on a busy machine.
    const counts = [scenario.servePid, ...scenario.workerPids].map((pid) => perProcess.get(String(pid)) ?? 0);
    expect(
      counts.filter((n) => n > 0).length,
      `executions by serve, worker, worker: ${counts.join('/')}`,
    ).toBeGreaterThan(1);
    console.log(
      `shared store: ${RUNS} runs, ${perStep.size} steps; executions by serve ${perProcess.get(String(scenario.servePid)) ?? 0}, ` +
        `workers ${scenario.workerPids.map((pid) => perProcess.get(String(pid)) ?? 0).join('/')}, ` +
        `others ${[...perProcess].filter(([pid]) => ![scenario.servePid, ...scenario.workerPids].map(String).includes(pid)).reduce((a, [, n]) => a + n, 0)}; ` +
        `all ended ${scenario.settledMs} ms after the commands`,
    );
  });

  it('a concurrency group of limit 1 runs its runs one at a time across processes', () => {
    const group = scenario.runs
      .filter((run) => scenario.groupRunIds.includes(run.run_id))
      .sort((a, b) => (a.started_at ?? '').localeCompare(b.started_at ?? ''));
    expect(group).toHaveLength(GROUP_RUNS);
    expect(group.map((run) => run.status)).toEqual(group.map(() => 'succeeded'));
    const groupRunners = new Set(
      scenario.executions
        .filter((line) => scenario.groupRunIds.includes(line.split(' ')[0]!))
        .map((l) => l.split(' ')[2]),
    );
    console.log(`concurrency group: ${GROUP_RUNS} runs ended in turn, run by ${groupRunners.size} processes`);
    for (let i = 1; i < group.length; i += 1) {
      const previousEnd = Date.parse(group[i - 1]!.ended_at!);
      const start = Date.parse(group[i]!.started_at!);
      const times = group.map((run) => `${run.run_id} created ${run.created_at} ${run.started_at}..${run.ended_at}`);
      expect(start, `group run ${i} started before run ${i - 1} ended: ${times.join('; ')}`).toBeGreaterThanOrEqual(
        previousEnd,
      );
    }
  });

  it('schedule ticks fired by serve alone run on its runner', () => {
    const ticks = scenario.ticksWhileServeAlone;
    expect(ticks.length, `no tick fired in ${SERVE_ALONE_MS} ms of serve alone`).toBeGreaterThanOrEqual(2);
    expect(
      ticks.map((run) => run.status),
      'tick runs fired by maestro serve (runner on, no worker yet) did not run',
    ).toEqual(ticks.map(() => 'succeeded'));
    const servedTicks = new Set(
      scenario.executions
        .map((line) => line.split(' '))
        .filter(([, , pid]) => pid === String(scenario.servePid))
        .map(([runId]) => runId),
    );
    for (const tick of ticks) expect(servedTicks.has(tick.run_id)).toBe(true);
  });

  it('every tick run ends, and none is for a tick after the pause', () => {
    const ticks = scenario.runs.filter((run) => run.scheduled_for !== undefined);
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.filter((run) => run.status !== 'succeeded').map((run) => run.status)).toEqual([]);
    expect(scenario.pausedAt).toBeGreaterThan(0);
    const late = ticks.filter((run) => Date.parse(run.scheduled_for!) > scenario.pausedAt);
    expect(late.map((run) => run.scheduled_for)).toEqual([]);
  });
});
