/**
 * `npm run bench [-- --quick]`: every workload prints one JSON object per line and all of them are written to
 * bench/results/latest.json with the machine and date. MongoDB workloads run on each server MAESTRO_BENCH_MONGO_URLS
 * (or MAESTRO_TEST_MONGO_URLS) names, `name=url,…`. --quick scales sizes down (same 10x step) to finish in minutes.
 */
import { join } from 'node:path';
import { benchBackends, mongoServersOf, type BenchBackend } from './bench-backends.js';
import { runColdStart } from './cli-cold-start.js';
import { DAG_CONCURRENCY, runDag, type DagResult } from './dag-workload.js';
import { SHAPES } from './dag-shapes.js';
import { machineInfo, round, writeReport } from './measure.js';
import { runQueries } from './query-workload.js';
import { guaranteeFloorPerStepMs, rawWritesPerStepMs } from './raw-store-cost.js';
import { runObservabilityOverhead } from './observability-workload.js';
import { runScaleOut } from './scale-out-workload.js';

const quick = process.argv.includes('--quick');
// --smoke: tiny sizes on the embedded stores only (SQLite in memory, files with synchronous full and normal), so the test suite can check the bench still works.
const smoke = process.argv.includes('--smoke');
const outFile = process.argv.find((arg) => arg.startsWith('--out='))?.slice('--out='.length);
// `--backends memory,sqlite-normal,mongodb` (names or kinds) limits the run (handy while profiling one store).
const onlyBackends = process.argv
  .find((arg) => arg.startsWith('--backends='))
  ?.slice('--backends='.length)
  .split(',');
const mongoServers = smoke ? [] : mongoServersOf(process.env);
// Sizes per store: the 10x step between the two DAG sizes is what ratio_10k_1k measures.
const config = smoke
  ? {
      dagSizes: { memory: [20, 200], 'sqlite-file': [20, 200], mongodb: [20, 200] },
      queryStores: { memory: [100, 1000], 'sqlite-file': [100, 1000], mongodb: [100, 1000] },
      querySamples: 10,
      apiSeconds: 1,
      scaleOut: { runs: 4, steps: 3 },
      coldStarts: 1,
      observabilityRounds: 1,
    }
  : quick
    ? {
        dagSizes: { memory: [200, 2000], 'sqlite-file': [200, 2000], mongodb: [50, 500] },
        queryStores: { memory: [1000, 10_000], 'sqlite-file': [1000, 10_000], mongodb: [500, 5000] },
        querySamples: 50,
        apiSeconds: 2,
        scaleOut: { runs: 12, steps: 10 },
        coldStarts: 3,
        observabilityRounds: 7,
      }
    : {
        dagSizes: { memory: [1000, 10_000], 'sqlite-file': [1000, 10_000], mongodb: [1000, 10_000] },
        queryStores: { memory: [10_000, 100_000], 'sqlite-file': [10_000, 100_000], mongodb: [10_000, 100_000] },
        querySamples: 300,
        apiSeconds: 5,
        scaleOut: { runs: 200, steps: 20 },
        coldStarts: 5,
        observabilityRounds: 5,
      };

const results: object[] = [];
function emit(result: object): void {
  results.push(result);
  console.log(JSON.stringify(result));
}

const started = Date.now();
const chosen = (backend: BenchBackend) =>
  !onlyBackends || onlyBackends.includes(backend.name) || onlyBackends.includes(backend.kind);
const backends = benchBackends(mongoServers).filter(chosen);
for (const backend of backends) {
  const [small, large] = config.dagSizes[backend.kind];
  // The physical limit, in the same process right before, with as many steps as the engine run has:
  // some stores (FerretDB) get slower per write as a collection grows, and the comparison must not hide that.
  const rawPerStep = new Map<number, number>();
  // One unmeasured raw loop first, as for the engine below: the first measured one ran cold and read high.
  await rawWritesPerStepMs(backend, small!);
  for (const size of [small!, large!]) {
    const perStep = await rawWritesPerStepMs(backend, size);
    rawPerStep.set(size, perStep);
    emit({
      workload: 'raw-store-writes',
      backend: backend.name,
      ops: size,
      writes_per_step: 4,
      raw_writes_per_step_ms: round(perStep),
      p50: round(perStep),
      p95: round(perStep),
      peak_rss_mb: round(process.memoryUsage().rss / 1048576, 1),
    });
  }
  // What the store itself costs per step under the engine's guarantees, one step at a time (a chain) and as many
  // at once as the engine below runs (the other shapes): no engine on this store can go below it.
  const floorPerStep = new Map<string, number>();
  for (const size of [small!, large!])
    for (const lanes of [1, DAG_CONCURRENCY]) {
      const { perStepMs: perStep, lanes: used } = await guaranteeFloorPerStepMs(backend, size, lanes);
      floorPerStep.set(`${size}/${lanes}`, perStep);
      const raw = rawPerStep.get(size)!;
      emit({
        workload: 'store-floor',
        backend: backend.name,
        ops: size,
        lanes: used,
        floor_per_step_ms: round(perStep),
        raw_writes_per_step_ms: round(raw),
        floor_to_raw: round(perStep / raw, 2),
        // Of the goal's 1.5x the raw writes, what the engine's own work may take once the store has had its floor.
        engine_budget_at_1_5x_ms: round(1.5 * raw - perStep),
        p50: round(perStep),
        p95: round(perStep),
        peak_rss_mb: round(process.memoryUsage().rss / 1048576, 1),
      });
    }
  const floorOf = (shape: string, size: number) =>
    floorPerStep.get(`${size}/${shape === 'chain' ? 1 : DAG_CONCURRENCY}`)!;
  // One unmeasured run first, so the JIT and the driver's connection pool are warm for every measured one.
  await runDag(backend, 'chain', small!, rawPerStep.get(small!)!);
  for (const shape of SHAPES) {
    const smallResult: DagResult = await runDag(backend, shape, small!, rawPerStep.get(small!)!, {
      floorPerStepMs: floorOf(shape, small!),
    });
    emit(smallResult);
    const largeResult: DagResult = await runDag(backend, shape, large!, rawPerStep.get(large!)!, {
      floorPerStepMs: floorOf(shape, large!),
    });
    emit(largeResult);
    emit({
      workload: 'dag-scaling',
      shape,
      backend: backend.name,
      ops: largeResult.ops,
      small_steps: smallResult.ops,
      large_steps: largeResult.ops,
      ratio_10k_1k: round(largeResult.wall_ms / smallResult.wall_ms, 2),
      raw_ratio_10k_1k: round((rawPerStep.get(large!)! * large!) / (rawPerStep.get(small!)! * small!), 2),
      p50: largeResult.p50,
      p95: largeResult.p95,
      overhead_per_step_ms: largeResult.overhead_per_step_ms,
      overhead_to_raw: largeResult.overhead_to_raw,
      peak_rss_mb: largeResult.peak_rss_mb,
    });
  }
  // Metrics and tracing on against off, on the small DAGs: a cost in CPU, measured where the store's commits are not
  // fsyncs (on a SQLite file with synchronous=full the disk's flushes would drown it).
  if (backend.synchronous !== 'full')
    for (const shape of SHAPES)
      emit(await runObservabilityOverhead(backend, shape, small!, rawPerStep.get(small!)!, config.observabilityRounds));
  for (const runsInStore of config.queryStores[backend.kind]) {
    for (const result of await runQueries(backend, runsInStore, config.querySamples, config.apiSeconds, (url) =>
      url.startsWith('mongodb') ? url : undefined,
    ))
      emit(result);
  }
}
for (const backend of backends.filter((b) => b.kind === 'mongodb')) {
  for (const runners of [1, 2, 3])
    emit(await runScaleOut(backend, runners, config.scaleOut.runs, config.scaleOut.steps));
}
emit(runColdStart(config.coldStarts));

const report = {
  date: new Date().toISOString(),
  quick,
  smoke,
  machine: machineInfo(),
  mongodb:
    mongoServers.length > 0
      ? mongoServers.map((server) => server.name)
      : 'no server named (MAESTRO_BENCH_MONGO_URLS): MongoDB workloads skipped',
  duration_s: round((Date.now() - started) / 1000, 1),
  results,
};
writeReport(outFile ?? join(import.meta.dirname, '..', '..', 'bench', 'results', 'latest.json'), report, 'bench');
