import type { Telemetry } from '../domain/telemetry.js';
import { maestroTracer, SpanStatusCode } from '../domain/trace-context.js';
import { context, trace } from '@opentelemetry/api';
import { wrapOperations } from './operation-proxy.js';
import type { RunStore } from './port.js';

/**
 * The same store, timing every port operation (by its name: a bounded label) into the telemetry and, when
 * `traced`, recording it as a span under the active one (a run's, a step attempt's, a hook delivery's).
 */
export function instrumentedStore(store: RunStore, telemetry: Telemetry, traced: boolean): RunStore {
  return wrapOperations(store, (name, call) => async (...args) => {
    const started = performance.now();
    // Only inside a traced unit of work: a store call with no span around it would be a trace of its own.
    // Nothing nests under a store call, so its span is started under the active one, not made active.
    const active = traced ? context.active() : undefined;
    const span =
      active && trace.getSpan(active)
        ? maestroTracer().startSpan(`maestro.store ${name}`, undefined, active)
        : undefined;
    try {
      return await call(...args);
    } catch (error) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : '' });
      throw error;
    } finally {
      span?.end();
      telemetry.storeCall(name, (performance.now() - started) / 1000);
    }
  });
}
