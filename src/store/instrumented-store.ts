import type { Telemetry } from '../domain/telemetry.js';
import type { RunStore } from './port.js';

/** The same store, timing every port operation (by its name: a bounded label) into the telemetry. */
export function instrumentedStore(store: RunStore, telemetry: Telemetry): RunStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          telemetry.storeCall(property, (performance.now() - started) / 1000);
        }
      };
    },
  });
}
