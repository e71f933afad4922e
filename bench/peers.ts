/**
 * `npm run bench:peers [-- --rounds=N]`: Maestro side by side with Prefect 3 on the same machine and shapes (chain
 * and fan-out, N = 100 and 1,000), interleaved, medians of the per-task cost, written to bench/results/peers.json.
 * Maestro runs on its default store, a SQLite file, with synchronous=normal and (beside it) =full.
 * Opt-in: the first run creates a virtualenv under bench/peers/ and installs the pinned Prefect from PyPI into it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CONCURRENCY } from '../src/engine/engine-options.js';
import { Engine } from '../src/maestro-engine.js';
import { openStore } from '../src/store/open.js';
import { dagPlan, type StepMaker } from './dag-shapes.js';
import { machineInfo, percentile, round, writeReport } from './measure.js';
import { guaranteeFloorPerStepMs } from './raw-store-cost.js';

const PREFECT_VERSION = '3.9.1';
const SHAPES = ['chain', 'fan'] as const;
type PeerShape = (typeof SHAPES)[number];
const SIZES = [100, 1000];
const REPO = join(import.meta.dirname, '..', '..');
const PEERS_DIR = join(REPO, 'bench', 'peers');
const VENV = join(PEERS_DIR, '.venv');
const PYTHON = join(VENV, 'bin', 'python');
const rounds = Number(process.argv.find((arg) => arg.startsWith('--rounds='))?.slice('--rounds='.length) ?? 3);

/** The virtualenv with the pinned Prefect, made on first use (PyPI is the only network this needs). */
function ensurePrefect(): void {
  const installed = existsSync(PYTHON)
    ? execFileSync(PYTHON, ['-c', 'import prefect; print(prefect.__version__)'], { encoding: 'utf8' }).trim()
    : undefined;
  if (installed === PREFECT_VERSION) return;
  console.error(`bench:peers: installing prefect==${PREFECT_VERSION} into ${VENV}`);
  if (!existsSync(PYTHON)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(PYTHON, ['-m', 'pip', 'install', '--quiet', `prefect==${PREFECT_VERSION}`], { stdio: 'inherit' });
}

/** A Prefect process answering `<shape> <n>` requests, one flow each, on its own ephemeral server and home. */
async function startPrefect(home: string) {
  const child = spawn(PYTHON, [join(PEERS_DIR, 'prefect_flows.py')], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      PREFECT_HOME: home,
      PREFECT_LOGGING_LEVEL: 'WARNING',
      PREFECT_SERVER_ANALYTICS_ENABLED: 'false',
      PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: '120',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
    // Its own process group: Prefect starts its API server as a child that holds our pipe; both go at the end.
    detached: true,
  });
  const lines: AsyncIterator<string> = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error('the Prefect process ended');
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const ready = await next();
  return {
    versions: { prefect: String(ready.prefect), python: String(ready.python) },
    /** Until the flow call returns, and until the server has recorded every task run (NaN if it never did). */
    async run(shape: PeerShape, n: number): Promise<{ returned: number; recorded: number }> {
      child.stdin.write(`${shape} ${n}\n`);
      const answer = await next();
      return { returned: Number(answer.wall_ms), recorded: Number(answer.persisted_ms ?? Number.NaN) };
    },
    /**
     * Resolves once Prefect's processes (its API server records task runs and runs its services after a flow has
     * returned) use less than a tenth of a core, so their work does not fall into Maestro's next measurement. Waits
     * at most IDLE_WAIT_MS; where /proc is missing (not Linux) it waits that long. Returns how long it waited.
     */
    async idle(): Promise<number> {
      const start = Date.now();
      let before = cpuTicksOfGroup(child.pid!);
      while (Date.now() < start + IDLE_WAIT_MS) {
        await sleep(IDLE_SAMPLE_MS);
        const now = cpuTicksOfGroup(child.pid!);
        if (now !== undefined && before !== undefined && now - before <= IDLE_TICKS) break;
        before = now;
      }
      return Date.now() - start;
    },
    stop() {
      child.stdin.end();
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      child.stdout.destroy();
    },
  };
}

const IDLE_WAIT_MS = 15_000;
const IDLE_SAMPLE_MS = 250;
/** Clock ticks (1/100 s) in IDLE_SAMPLE_MS below which a process group counts as idle: a tenth of one core. */
const IDLE_TICKS = 2;

/** CPU time (user + system, in clock ticks) of every process in a process group; undefined without /proc. */
function cpuTicksOfGroup(groupId: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const pid of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended while we looked
    }
    // After the command's closing parenthesis: state, ppid, pgrp, …; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === groupId) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}

/** A leaf calling a registered no-op function: the workflow-as-code way, as Prefect's tasks are. */
const handlerStep: StepMaker = (id, needs = []) => ({
  id,
  uses: 'handler',
  with: { handler: 'noop' },
  ...(needs.length ? { needs } : {}),
});

type Synchronous = 'full' | 'normal';

/**
 * One Maestro run on a fresh SQLite store file (the default store) committing with `synchronous`, from start
 * request to recorded end.
 */
async function runMaestro(
  shape: PeerShape,
  n: number,
  kind: 'noop' | 'handler',
  synchronous: Synchronous = 'normal',
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'maestro-peers-'));
  const store = await openStore(`sqlite://${join(dir, 'maestro.db')}?synchronous=${synchronous}`);
  const engine = new Engine({ store, workspace: dir });
  engine.registerHandler('noop', () => ({}));
  try {
    const { plan } = await engine.applyPlan(kind === 'noop' ? dagPlan(shape, n) : dagPlan(shape, n, handlerStep));
    const started = performance.now();
    const { run } = await engine.startRun(plan);
    const ended = await engine.executeRun(run.run_id);
    const ms = performance.now() - started;
    if (ended?.status !== 'succeeded') throw new Error(`maestro ${shape}/${n}/${kind} ended ${ended?.status}`);
    return ms;
  } finally {
    engine.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const maestroVersion = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
ensurePrefect();
const results: object[] = [];
const started = Date.now();
let prefectVersions: { prefect: string; python: string } | undefined;
// Warm-up (the JIT, the file system cache), as the Prefect side had: both shapes and kinds, unmeasured.
for (const shape of SHAPES) await runMaestro(shape, 200, 'noop', 'full');
for (const shape of SHAPES) for (const kind of ['noop', 'handler'] as const) await runMaestro(shape, 200, kind);
for (const shape of SHAPES) {
  for (const n of SIZES) {
    const samples = {
      maestro_noop: [] as number[],
      maestro_handler: [] as number[],
      maestro_noop_full: [] as number[],
      prefect_returned: [] as number[],
      prefect_recorded: [] as number[],
      sqlite_normal_floor: [] as number[],
      sqlite_full_floor: [] as number[],
      prefect_idle_wait_ms: [] as number[],
    };
    // A fresh Prefect (server, database, home) for each shape and N, as each Maestro run has a fresh store: its
    // server's background work on the flows of the shapes before stays out of this one.
    const prefectHome = mkdtempSync(join(tmpdir(), 'maestro-peers-prefect-'));
    const prefect = await startPrefect(prefectHome);
    prefectVersions ??= prefect.versions;
    // The peers' Maestro runs with the engine's defaults: a fan-out's floor runs as many steps at once.
    const lanes = shape === 'chain' ? 1 : DEFAULT_CONCURRENCY;
    // Interleaved, so a slower minute of a shared machine falls on all three alike; Maestro's runs start once
    // Prefect's processes are idle again (its server goes on recording after the flow call has returned).
    try {
      for (let i = 0; i < rounds; i += 1) {
        samples.prefect_idle_wait_ms.push(await prefect.idle());
        // Maestro's three runs in a rotating order: the first run after the floors and Prefect's flow read slower
        // (the file system settling the runs before it), and that should not fall on one kind every round.
        const maestroRuns = [
          async () => samples.maestro_noop.push(await runMaestro(shape, n, 'noop')),
          async () => samples.maestro_handler.push(await runMaestro(shape, n, 'handler')),
          async () => samples.maestro_noop_full.push(await runMaestro(shape, n, 'noop', 'full')),
        ];
        for (let k = 0; k < maestroRuns.length; k += 1) await maestroRuns[(i + k) % maestroRuns.length]!();
        const { returned, recorded } = await prefect.run(shape, n);
        samples.prefect_returned.push(returned);
        samples.prefect_recorded.push(recorded);
        for (const synchronous of ['normal', 'full'] as const)
          samples[`sqlite_${synchronous}_floor`].push(
            n * (await guaranteeFloorPerStepMs({ kind: 'sqlite-file', synchronous }, n, lanes)).perStepMs,
          );
      }
    } finally {
      prefect.stop();
      rmSync(prefectHome, { recursive: true, force: true });
    }
    const perTask = (ms: number[]) => round(percentile(ms, 50) / n, 3);
    const noop = perTask(samples.maestro_noop);
    const handler = perTask(samples.maestro_handler);
    const returned = perTask(samples.prefect_returned);
    const recorded = perTask(samples.prefect_recorded);
    const noopFull = perTask(samples.maestro_noop_full);
    const floor = perTask(samples.sqlite_normal_floor);
    const floorFull = perTask(samples.sqlite_full_floor);
    const result = {
      workload: 'peers',
      shape,
      n,
      rounds,
      maestro_backend: 'sqlite-normal',
      maestro_noop_ms_per_step: noop,
      maestro_handler_ms_per_step: handler,
      maestro_noop_full_ms_per_step: noopFull,
      prefect_ms_per_task: returned,
      prefect_recorded_ms_per_task: recorded,
      // Cheaper by: Prefect's cost per task over Maestro's per step, until the flow returns (the figure a user
      // waits for) and until every task run is recorded (what Maestro has stored when its run returns).
      prefect_to_maestro_noop: round(returned / noop, 1),
      prefect_to_maestro_handler: round(returned / handler, 1),
      // Same durability: both sides' states committed to SQLite when the clock stops (Prefect's server records
      // them after its flow returned); and Maestro fsyncing every commit (synchronous=full, the default).
      prefect_recorded_to_maestro_noop: round(recorded / noop, 1),
      prefect_to_maestro_noop_full: round(returned / noopFull, 1),
      prefect_recorded_to_maestro_noop_full: round(recorded / noopFull, 1),
      // SQLite's own cost of the writes Maestro's guarantees need per step (claim, result, two events; see
      // guaranteeFloorPerStepMs), and so the most any engine keeping them on that store could be cheaper by.
      sqlite_normal_floor_ms_per_step: floor,
      prefect_to_sqlite_normal_floor: round(returned / floor, 1),
      sqlite_full_floor_ms_per_step: floorFull,
      prefect_to_sqlite_full_floor: round(returned / floorFull, 1),
      samples_ms: samples,
    };
    results.push(result);
    console.log(JSON.stringify(result));
  }
}

const report = {
  date: new Date().toISOString(),
  machine: machineInfo(),
  versions: { maestro: maestroVersion, node: process.version, ...prefectVersions },
  persisted_per_task: {
    maestro:
      'the step claimed (lease, status running) and its result (status, outputs, ended_at), each committed ' +
      'before the next step may start, and its started and ended events, committed behind them with the other ' +
      'events of the same turn of the event loop and all before the run returns: to the SQLite file (WAL), with ' +
      'synchronous=normal (maestro_*: a commit survives the process being killed; the last ones may be lost on ' +
      'power loss) and with synchronous=full (*_full: each commit fsynced, the default)',
    prefect:
      "a task run's states sent to the ephemeral API server (SQLite) as events and recorded by the server in the " +
      'background, after the flow may have returned (prefect_recorded_* waits for them); results are not ' +
      'persisted (the default)',
  },
  duration_s: round((Date.now() - started) / 1000, 1),
  results,
};
writeReport(join(REPO, 'bench', 'results', 'peers.json'), report, 'bench:peers');
