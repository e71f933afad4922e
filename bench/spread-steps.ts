/**
 * `npm run bench:spread`: step attempts spread over workers (three "machines": worker processes with their own
 * workspace directories on one store), written to bench/results/spread.json.
 * - spread: a foreach of 60 exec steps of 1 s each, every worker taking at most 4 attempts at once; wall time with
 *   one worker and with three, and their ratio (goal: three finish in at most 1/2.5 of one's time).
 * - remote step: the per-step cost of a chain of noop steps taken by another runner (runs_on a label the driver
 *   lacks) against the same chain executed in the driver's process, beside the store's own floor.
 * Stores: mongo-java-server (MAESTRO_BENCH_MONGO_URLS / MAESTRO_TEST_MONGO_URLS; others named there too) and the
 * embedded SQLite file. Runners poll every POLL_MS (stated in the record): a remote step waits for polls.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Plan } from '../src/generated/schemas.js';
import { Engine } from '../src/maestro-engine.js';
import { openStore } from '../src/store/open.js';
import type { RunStore } from '../src/store/port.js';
import { mongoDatabaseUrl, mongoServersOf } from './bench-backends.js';
import { machineInfo, percentile, round, writeReport } from './measure.js';
import { guaranteeFloorPerStepMs } from './raw-store-cost.js';

const MAESTRO = join(import.meta.dirname, '..', '..', 'bin', 'maestro.js');
const POLL_MS = 50;
const ITEMS = 60;
const ATTEMPTS_PER_WORKER = 4;
const CHAIN = 200;
const ROUNDS = 3;

interface Target {
  name: string;
  kind: 'mongodb' | 'sqlite-file';
  /** A fresh, empty store URL, and how to remove it. */
  fresh: () => { url: string; dispose: () => void };
  mongoUrl?: string;
}

function targets(): Target[] {
  const mongo = mongoServersOf(process.env).map((server): Target => ({
    name: server.name,
    kind: 'mongodb',
    mongoUrl: server.url,
    fresh: () => ({ url: mongoDatabaseUrl(server.url, `maestro_spread_${Date.now().toString(36)}`), dispose() {} }),
  }));
  const sqlite: Target = {
    name: 'sqlite-file (synchronous=full)',
    kind: 'sqlite-file',
    fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'maestro-spread-'));
      return {
        url: `sqlite://${join(dir, 'maestro.db')}`,
        dispose: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
  return [...mongo, sqlite];
}

const fanOutPlan: Plan = {
  name: 'spread-fan-out',
  steps: [
    {
      id: 'each',
      uses: 'exec',
      foreach: Array.from({ length: ITEMS }, (_, i) => i),
      with: { command: ['sleep', '1'] },
    },
  ],
};

async function waitForEnd(store: RunStore, runId: string): Promise<void> {
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(50)) {
    const run = await store.getRun(runId);
    if (run?.status === 'succeeded') return;
    if (run && ['failed', 'cancelled'].includes(run.status)) throw new Error(`run ${runId} ended ${run.status}`);
  }
  throw new Error(`run ${runId} did not end`);
}

/** Wall time of the fan-out with `workers` worker processes, each in its own directory, from start to end. */
async function spreadOnce(target: Target, workers: number): Promise<number> {
  const { url, dispose } = target.fresh();
  const root = mkdtempSync(join(tmpdir(), 'maestro-spread-workers-'));
  const store = await openStore(url);
  const processes = Array.from({ length: workers }, (_, i) => {
    const cwd = join(root, `machine-${i}`);
    mkdirSync(cwd);
    return spawn(process.execPath, [MAESTRO, 'worker', '--store', url, '--max-attempts', String(ATTEMPTS_PER_WORKER)], {
      cwd,
      // The bench's MongoDB on loopback needs no credentials; its only exec step is `sleep 1`.
      env: { ...process.env, MAESTRO_POLL_MS: String(POLL_MS), MAESTRO_ALLOW_OPEN_STORE: '1' },
      stdio: 'ignore',
    });
  });
  try {
    const engine = new Engine({ store, workspace: root });
    const { plan } = await engine.applyPlan(fanOutPlan);
    await sleep(1000); // every worker is up and polling
    const started = performance.now();
    const { run } = await engine.startRun(plan);
    await waitForEnd(store, run.run_id);
    return performance.now() - started;
  } finally {
    for (const child of processes) child.kill('SIGTERM');
    await Promise.all(processes.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    await store.close();
    rmSync(root, { recursive: true, force: true });
    dispose();
  }
}

const chainPlan = (remote: boolean): Plan => ({
  name: remote ? 'chain-remote' : 'chain-local',
  ...(remote ? { defaults: { runs_on: ['remote'] } } : {}),
  steps: Array.from({ length: CHAIN }, (_, i) => ({
    id: `s${i}`,
    uses: 'noop',
    ...(i > 0 ? { needs: [`s${i - 1}`] } : {}),
  })),
});

/** Per-step cost of the chain driven in this process, executed here (local) or by a second runner (remote). */
async function chainPerStep(target: Target, remote: boolean): Promise<number> {
  const { url, dispose } = target.fresh();
  const dir = mkdtempSync(join(tmpdir(), 'maestro-spread-chain-'));
  const driverStore = await openStore(url);
  const workerStore = await openStore(url);
  const driver = new Engine({ store: driverStore, workspace: dir, pollMs: POLL_MS });
  const worker = new Engine({
    store: workerStore,
    workspace: dir,
    pollMs: POLL_MS,
    labels: ['remote'],
    shareSteps: true,
  });
  const stop = new AbortController();
  const working = worker.work({ signal: stop.signal });
  try {
    const { plan } = await driver.applyPlan(chainPlan(remote));
    const started = performance.now();
    const { run } = await driver.startRun(plan);
    const ended = await driver.executeRun(run.run_id);
    if (ended?.status !== 'succeeded') throw new Error(`chain ended ${ended?.status}`);
    return (performance.now() - started) / CHAIN;
  } finally {
    stop.abort();
    await working;
    driver.close();
    worker.close();
    await driverStore.close();
    await workerStore.close();
    rmSync(dir, { recursive: true, force: true });
    dispose();
  }
}

const started = Date.now();
const results: object[] = [];
for (const target of targets()) {
  const one: number[] = [];
  const three: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    one.push(await spreadOnce(target, 1));
    three.push(await spreadOnce(target, 3));
  }
  const oneMs = percentile(one, 50);
  const threeMs = percentile(three, 50);
  const spread = {
    workload: 'spread',
    backend: target.name,
    steps: ITEMS,
    step_ms: 1000,
    attempts_per_worker: ATTEMPTS_PER_WORKER,
    poll_ms: POLL_MS,
    one_worker_ms: round(oneMs, 0),
    three_workers_ms: round(threeMs, 0),
    // Goal: >= 2.5 (three workers in at most 1/2.5 of one worker's time); 3 is the ideal.
    speedup: round(oneMs / threeMs, 2),
    samples_ms: { one_worker: one.map((ms) => round(ms, 0)), three_workers: three.map((ms) => round(ms, 0)) },
  };
  results.push(spread);
  console.log(JSON.stringify(spread));

  const local: number[] = [];
  const remote: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    local.push(await chainPerStep(target, false));
    remote.push(await chainPerStep(target, true));
  }
  const floor = await guaranteeFloorPerStepMs(
    target.kind === 'mongodb'
      ? { kind: 'mongodb', mongoUrl: target.mongoUrl! }
      : { kind: 'sqlite-file', synchronous: 'full' },
    CHAIN,
    1,
  );
  const remoteStep = {
    workload: 'remote-step',
    backend: target.name,
    ops: CHAIN,
    poll_ms: POLL_MS,
    p50: round(percentile(remote, 50), 3),
    p95: round(percentile(remote, 95), 3),
    local_ms_per_step: round(percentile(local, 50), 3),
    remote_ms_per_step: round(percentile(remote, 50), 3),
    // What another runner costs a step: the offer, the claim by a poll, the result write, the driver's poll.
    remote_overhead_ms_per_step: round(percentile(remote, 50) - percentile(local, 50), 3),
    store_floor_ms_per_step: round(floor.perStepMs, 3),
    peak_rss_mb: round(process.memoryUsage().rss / 1024 / 1024, 1),
    samples_ms_per_step: { local: local.map((ms) => round(ms, 3)), remote: remote.map((ms) => round(ms, 3)) },
  };
  results.push(remoteStep);
  console.log(JSON.stringify(remoteStep));
}
const report = {
  date: new Date().toISOString(),
  machine: machineInfo(),
  duration_s: round((Date.now() - started) / 1000, 1),
  results,
};
writeReport(join(import.meta.dirname, '..', '..', 'bench', 'results', 'spread.json'), report, 'bench:spread');
