import { noTelemetry, type Telemetry } from '../src/domain/telemetry.js';
import { Engine } from '../src/maestro-engine.js';
import { PrometheusTelemetry } from '../src/observability/prometheus-telemetry.js';
import { instrumentedStore } from '../src/store/instrumented-store.js';
import type { BenchBackend } from './bench-backends.js';
import { dagPlan, type Shape } from './dag-shapes.js';
import { percentile, round, timed } from './measure.js';

export interface DagResult {
  workload: 'dag';
  shape: Shape;
  backend: string;
  ops: number;
  wall_ms: number;
  steps_per_s: number;
  /** Wall time minus the steps' own time (no-ops: none), per step: what orchestration costs. */
  overhead_per_step_ms: number;
  raw_writes_per_step_ms: number;
  overhead_to_raw: number;
  /** The store's floor under the engine's guarantees for this shape (see guaranteeFloorPerStepMs), when measured. */
  floor_per_step_ms?: number;
  overhead_to_floor?: number;
  /** Per step, from its claim to its recorded result. */
  p50: number;
  p95: number;
  peak_rss_mb: number;
}

/** How many steps the engine runs at once in these workloads. */
export const DAG_CONCURRENCY = 32;

/**
 * How a run is watched: not at all; by Maestro's metrics and tracing code with the libraries behind it doing
 * nothing (`code-only`: no tracer provider registered, a telemetry that counts nothing); or fully (`on`:
 * Prometheus metrics, store calls timed and traced, as `maestro serve` and traced runners run). The caller
 * registers the OpenTelemetry SDK for `on` only.
 */
export type Observation = 'off' | 'code-only' | 'on';

let sharedTelemetry: PrometheusTelemetry | undefined;

function telemetryFor(observation: Observation): Telemetry | undefined {
  if (observation === 'off') return undefined;
  if (observation === 'code-only') return noTelemetry;
  // One registry per process, as a server has: each new one would add default collectors (GC, event loop).
  return (sharedTelemetry ??= new PrometheusTelemetry());
}

/** Creates and executes one no-op DAG of `steps` documents, end to end, on a fresh store. */
export async function runDag(
  backend: BenchBackend,
  shape: Shape,
  steps: number,
  rawPerStepMs: number,
  options: { observation?: Observation; floorPerStepMs?: number } = {},
): Promise<DagResult> {
  const { store: opened, dispose } = await backend.open();
  const telemetry = telemetryFor(options.observation ?? 'off');
  const store = telemetry ? instrumentedStore(opened, telemetry, true) : opened;
  const engine = new Engine({
    store,
    concurrency: DAG_CONCURRENCY,
    pollMs: 5,
    workspace: process.cwd(),
    ...(telemetry ? { telemetry } : {}),
  });
  try {
    const plan = dagPlan(shape, steps);
    const {
      result: run,
      ms,
      peakRssMb,
    } = await timed(async () => {
      const { plan: planDoc } = await engine.applyPlan(plan);
      const { run: created } = await engine.startRun(planDoc);
      return engine.executeRun(created.run_id);
    });
    if (run?.status !== 'succeeded') throw new Error(`${shape}/${steps} on ${backend.name} ended ${run?.status}`);
    const docs = await store.listSteps(run.run_id);
    const leafTimes = docs
      .filter((d) => d.uses && d.started_at && d.ended_at)
      .map((d) => Date.parse(d.ended_at!) - Date.parse(d.started_at!));
    const overhead = ms / docs.length;
    return {
      workload: 'dag',
      shape,
      backend: backend.name,
      ops: docs.length,
      wall_ms: round(ms, 1),
      steps_per_s: round(docs.length / (ms / 1000), 1),
      overhead_per_step_ms: round(overhead),
      raw_writes_per_step_ms: round(rawPerStepMs),
      overhead_to_raw: round(overhead / rawPerStepMs, 2),
      ...(options.floorPerStepMs
        ? {
            floor_per_step_ms: round(options.floorPerStepMs),
            overhead_to_floor: round(overhead / options.floorPerStepMs, 2),
          }
        : {}),
      p50: percentile(leafTimes, 50),
      p95: percentile(leafTimes, 95),
      peak_rss_mb: peakRssMb,
    };
  } finally {
    engine.close();
    await dispose();
  }
}
