import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { StderrSpanExporter } from './stderr-span-exporter.js';

/** Whether the standard OTEL_* variables ask for traces: an OTLP endpoint, or OTEL_TRACES_EXPORTER. */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  const exporter = env.OTEL_TRACES_EXPORTER;
  if (exporter !== undefined && exporter !== '') return exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Registers the OpenTelemetry SDK for this process when the OTEL_* variables ask for it (off otherwise): spans go
 * to OTLP over HTTP (the exporter reads OTEL_EXPORTER_OTLP_* itself) or, with OTEL_TRACES_EXPORTER=console, to
 * stderr as JSON lines (stdout is the commands' own output); batching follows OTEL_BSP_*. The service is
 * `maestro-conductor` unless OTEL_SERVICE_NAME says otherwise.
 * Returns the shutdown that flushes what is buffered, or undefined when tracing is off.
 */
export function startTracing(env: NodeJS.ProcessEnv): { shutdown(): Promise<void> } | undefined {
  if (!tracingRequested(env)) return undefined;
  const exporter: SpanExporter =
    env.OTEL_TRACES_EXPORTER === 'console' ? new StderrSpanExporter() : new OTLPTraceExporter();
  const detected = envDetector.detect();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME ?? 'maestro-conductor',
      ...detected.attributes,
    }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}
