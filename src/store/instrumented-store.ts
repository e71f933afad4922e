import type { Telemetry } from '../domain/telemetry.js';
import { maestroTracer, SpanStatusCode } from '../domain/trace-context.js';
import { context, trace } from '@opentelemetry/api';
import type { RunStore } from './port.js';

/**
 * The same store, timing every port operation (by its name: a bounded label) into the telemetry and, when
 * `traced`, recording it as a span under the active one (a run's, a step attempt's, a hook delivery's).
 */
export function instrumentedStore(store: RunStore, telemetry: Telemetry, traced: boolean): RunStore {
  // One wrapper per operation, made on first use: the hot path does not build closures per call.
  const wrappers = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const known = wrappers.get(property);
      if (known) return known;
      const call = (args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      const wrapper = async (...args: unknown[]) => {
        const started = performance.now();
        // Only inside a traced unit of work: a store call with no span around it would be a trace of its own.
        // Nothing nests under a store call, so its span is started under the active one, not made active.
        const active = traced ? context.active() : undefined;
        const span =
          active && trace.getSpan(active)
            ? maestroTracer().startSpan(`maestro.store ${property}`, undefined, active)
            : undefined;
        try {
          return await call(args);
        } catch (error) {
          span?.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : '' });
          throw error;
        } finally {
          span?.end();
          telemetry.storeCall(property, (performance.now() - started) / 1000);
        }
      };
      wrappers.set(property, wrapper);
      return wrapper;
    },
  });
}
