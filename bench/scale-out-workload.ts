import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { Engine } from '../src/maestro-engine.js';
import { openStore } from '../src/store/open.js';
import { mongoDatabaseUrl, type BenchBackend } from './bench-backends.js';
import { dagPlan } from './dag-shapes.js';
import { round, timed } from './measure.js';

export interface ScaleOutResult {
  workload: 'scale-out';
  backend: string;
  runners: number;
  runs: number;
  steps_per_run: number;
  ops: number;
  wall_ms: number;
  steps_per_s: number;
  p50: number;
  p95: number;
  peak_rss_mb: number;
}

const MAESTRO = join(import.meta.dirname, '..', '..', 'bin', 'maestro.js');

/** `runners` worker processes on one MongoDB-wire server work through `runs` runs of `stepsPerRun` no-op steps. */
export async function runScaleOut(
  backend: BenchBackend,
  runners: number,
  runs: number,
  stepsPerRun: number,
): Promise<ScaleOutResult> {
  const url = mongoDatabaseUrl(backend.mongoUrl!, `maestro_scale_${runners}_${Date.now().toString(36)}`);
  const store = await openStore(url);
  const engine = new Engine({ store });
  const { plan } = await engine.applyPlan(dagPlan('chain', stepsPerRun));
  for (let i = 0; i < runs; i += 1) await engine.startRun(plan);
  const workers = Array.from({ length: runners }, () =>
    spawn(process.execPath, [MAESTRO, 'worker', '--store', url, '--max-runs', '8'], {
      // The bench's MongoDB on loopback needs no credentials: the workers run only its noop plans.
      env: { ...process.env, MAESTRO_POLL_MS: '20', MAESTRO_ALLOW_OPEN_STORE: '1' },
      stdio: 'ignore',
    }),
  );
  try {
    const { ms, peakRssMb } = await timed(async () => {
      const deadline = Date.now() + 600_000;
      while (Date.now() < deadline) {
        const done = await store.listRuns({ status: 'succeeded' }, { limit: runs });
        if (done.items.length >= runs) return;
        await sleep(50);
      }
      throw new Error(`scale-out with ${runners} runners did not finish`);
    });
    const finished = await store.listRuns({ status: 'succeeded' }, { limit: runs });
    const durations = finished.items.map((r) => r.usage.duration_ms ?? 0).sort((a, b) => a - b);
    const total = runs * stepsPerRun;
    return {
      workload: 'scale-out',
      backend: backend.name,
      runners,
      runs,
      steps_per_run: stepsPerRun,
      ops: total,
      wall_ms: round(ms, 1),
      steps_per_s: round(total / (ms / 1000), 1),
      p50: durations[Math.floor(durations.length * 0.5)] ?? 0,
      p95: durations[Math.min(durations.length - 1, Math.floor(durations.length * 0.95))] ?? 0,
      peak_rss_mb: peakRssMb,
    };
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await Promise.all(
      workers.map(
        (w) => new Promise((resolve) => (w.exitCode !== null ? resolve(undefined) : w.once('exit', resolve))),
      ),
    );
    engine.close();
    await store.close();
    const client = await MongoClient.connect(url);
    await client.db().dropDatabase();
    await client.close();
  }
}
