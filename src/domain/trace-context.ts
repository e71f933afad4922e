import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

/**
 * Spans through the OpenTelemetry API only: without an SDK registered (the default) every span is a no-op. The
 * W3C `traceparent` form is what Maestro stores on runs and hands to steps (TRACEPARENT, an HTTP header).
 */
export function maestroTracer(): Tracer {
  // Looked up once per registered provider (every span asks): trace.disable() installs a new global one.
  const provider = trace.getTracerProvider();
  if (cachedTracer?.provider !== provider) cachedTracer = { provider, tracer: provider.getTracer('maestro-conductor') };
  return cachedTracer.tracer;
}

let cachedTracer: { provider: TracerProvider; tracer: Tracer } | undefined;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Whether a value is a W3C traceparent (version 00) naming a valid span. */
export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && contextOfTraceparent(value) !== ROOT_CONTEXT;
}

/** A context whose parent span is the one a stored `traceparent` names (or the root context). */
export function contextOfTraceparent(traceparent: string | undefined): Context {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (!match) return ROOT_CONTEXT;
  const spanContext = { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

/** The `traceparent` of a span, or undefined when it records nothing (no SDK, or not sampled). */
export function traceparentOf(span: Span | undefined): string | undefined {
  const spanContext = span?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** A context with `span` as the active one, under `parent`. */
export function contextWith(span: Span, parent: Context = context.active()): Context {
  return trace.setSpan(parent, span);
}

export { context as traceContexts, SpanStatusCode, type Span, type Context } from '@opentelemetry/api';
