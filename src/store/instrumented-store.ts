import type { Telemetry } from '../domain/telemetry.js';
import { maestroTracer, SpanStatusCode } from '../domain/trace-context.js';
import { trace } from '@opentelemetry/api';
import type { RunStore } from './port.js';

/**
 * The same store, timing every port operation (by its name: a bounded label) into the telemetry and, when
 * `traced`, recording it as a span under the active one (a run's, a step attempt's, a hook delivery's).
 */
export function instrumentedStore(store: RunStore, telemetry: Telemetry, traced: boolean): RunStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const call = (args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          // Only inside a traced unit of work: a store call with no span around it would be a trace of its own.
          if (!traced || !trace.getActiveSpan()) return await call(args);
          return await maestroTracer().startActiveSpan(`maestro.store ${property}`, async (span) => {
            try {
              return await call(args);
            } catch (error) {
              span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : '' });
              throw error;
            } finally {
              span.end();
            }
          });
        } finally {
          telemetry.storeCall(property, (performance.now() - started) / 1000);
        }
      };
    },
  });
}
