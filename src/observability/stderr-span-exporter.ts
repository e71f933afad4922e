import { ExportResultCode, hrTimeToMicroseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * OTEL_TRACES_EXPORTER=console, on stderr: the SDK's ConsoleSpanExporter writes to stdout, where `--json` promises
 * JSON lines and nothing else. One JSON object a line, with the fields ConsoleSpanExporter shows.
 */
export class StderrSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) process.stderr.write(`${JSON.stringify(spanInfo(span))}\n`);
    done({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

function spanInfo(span: ReadableSpan) {
  const context = span.spanContext();
  return {
    name: span.name,
    traceId: context.traceId,
    id: context.spanId,
    parentId: span.parentSpanContext?.spanId,
    kind: span.kind,
    timestamp: hrTimeToMicroseconds(span.startTime),
    duration: hrTimeToMicroseconds(span.duration),
    attributes: span.attributes,
    status: span.status,
    events: span.events.map((event) => ({
      name: event.name,
      timestamp: hrTimeToMicroseconds(event.time),
      attributes: event.attributes,
    })),
    links: span.links.map((link) => ({ traceId: link.context.traceId, id: link.context.spanId })),
    resource: { attributes: span.resource.attributes },
    instrumentationScope: span.instrumentationScope,
  };
}
