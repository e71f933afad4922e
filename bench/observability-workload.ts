import { context, propagation, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { BenchBackend } from './bench-backends.js';
import { runDag, type Observation } from './dag-workload.js';
import type { Shape } from './dag-shapes.js';
import { percentile, round } from './measure.js';

/** Takes every batch and drops it: the SDK's own cost is measured, not a collector's. */
const discarding: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => undefined,
};

let provider: NodeTracerProvider | undefined;

/**
 * Leaves the OpenTelemetry API as a process without tracing has it (no tracer provider, no context manager, no
 * propagator), then registers the SDK again for `on`, as `startTracing` does. The context manager is the
 * SDK's AsyncLocalStorage: enabled, it hooks every promise the process makes, so an `off` that kept it would
 * carry part of what tracing costs.
 */
function observe(observation: Observation): void {
  trace.disable();
  context.disable();
  propagation.disable();
  if (observation === 'on') provider!.register();
}

/**
 * The same DAG with metrics and tracing off, then on (Prometheus metrics, the OpenTelemetry SDK registered as
 * `startTracing` registers it, with a batch processor, store calls as spans), interleaved `rounds` times;
 * medians, and their ratio (goal: at most 1.1). A third variant runs Maestro's instrumentation code with the
 * libraries behind it doing nothing (no SDK registered: the API's spans are no-ops; a telemetry that counts
 * nothing), so the overhead splits into what Maestro's code costs and what the SDK (its context manager
 * included) and prom-client themselves do for the spans and metrics it asks for.
 */
export async function runObservabilityOverhead(
  backend: BenchBackend,
  shape: Shape,
  steps: number,
  rawPerStepMs: number,
  rounds: number,
): Promise<object> {
  provider ??= new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(discarding)] });
  const times: Record<Observation, number[]> = { off: [], 'code-only': [], on: [] };
  const order: Observation[] = ['off', 'code-only', 'on'];
  let onResult: Awaited<ReturnType<typeof runDag>> | undefined;
  for (let round_ = 0; round_ < rounds; round_ += 1) {
    // Alternating the order, so that none of the three always runs right after another.
    for (const observation of round_ % 2 === 0 ? order : [...order].reverse()) {
      observe(observation);
      // Each run from a heap without the last run's garbage (when node runs with --expose-gc): collecting that
      // lands in whichever run comes next otherwise, and moves a 100 ms run by a tenth.
      globalThis.gc?.();
      const result = await runDag(backend, shape, steps, rawPerStepMs, { observation });
      times[observation].push(result.wall_ms);
      if (observation === 'on') onResult = result;
    }
  }
  observe('off');
  const offMs = percentile(times.off, 50);
  const codeOnlyMs = percentile(times['code-only'], 50);
  const onMs = percentile(times.on, 50);
  const ops = onResult!.ops;
  return {
    workload: 'observability',
    shape,
    backend: backend.name,
    ops,
    rounds,
    off_ms: offMs,
    on_ms: onMs,
    on_to_off: round(onMs / offMs, 2),
    overhead_per_step_ms: round((onMs - offMs) / ops),
    code_only_ms: codeOnlyMs,
    code_only_to_off: round(codeOnlyMs / offMs, 2),
    /** What the libraries add over Maestro's code calling them, per step. */
    libraries_per_step_ms: round((onMs - codeOnlyMs) / ops),
    p50: onResult!.p50,
    p95: onResult!.p95,
    peak_rss_mb: onResult!.peak_rss_mb,
  };
}
