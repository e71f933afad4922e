import { trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { BenchBackend } from './bench-backends.js';
import { runDag } from './dag-workload.js';
import type { Shape } from './dag-shapes.js';
import { percentile, round } from './measure.js';

/** Takes every batch and drops it: the SDK's own cost is measured, not a collector's. */
const discarding: SpanExporter = {
  export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
  shutdown: async () => undefined,
};

let provider: NodeTracerProvider | undefined;

/**
 * The same DAG with metrics and tracing off, then on (Prometheus metrics, the OpenTelemetry SDK with a batch
 * processor, store calls as spans), interleaved `rounds` times; medians, and their ratio (goal: at most 1.1).
 */
export async function runObservabilityOverhead(
  backend: BenchBackend,
  shape: Shape,
  steps: number,
  rawPerStepMs: number,
  rounds: number,
): Promise<object> {
  if (!provider) {
    provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(discarding)] });
    // The context manager and propagator stay; the tracer provider is switched on and off below.
    provider.register();
  }
  const off: number[] = [];
  const on: number[] = [];
  let ops = 0;
  let onResult: Awaited<ReturnType<typeof runDag>> | undefined;
  for (let round_ = 0; round_ < rounds; round_ += 1) {
    trace.disable();
    off.push((await runDag(backend, shape, steps, rawPerStepMs)).wall_ms);
    trace.setGlobalTracerProvider(provider);
    onResult = await runDag(backend, shape, steps, rawPerStepMs, { observed: true });
    on.push(onResult.wall_ms);
    ops = onResult.ops;
  }
  trace.disable();
  const offMs = percentile(off, 50);
  const onMs = percentile(on, 50);
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
    p50: onResult!.p50,
    p95: onResult!.p95,
    peak_rss_mb: onResult!.peak_rss_mb,
  };
}
