import type { RunStore } from './port.js';

type Operation = (...args: unknown[]) => Promise<unknown>;

/**
 * The same store with some of its operations wrapped: `wrap` gets an operation's name and the call through to it,
 * and returns the replacement, or undefined to leave that operation as it is. Each wrapper is made once, on first
 * use, so the hot path builds no closures per call. The wrappers of retries and of timing share this.
 */
export function wrapOperations(
  store: RunStore,
  wrap: (name: string, call: Operation) => Operation | undefined,
): RunStore {
  const wrappers = new Map<string, Operation>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const known = wrappers.get(property);
      if (known) return known;
      const wrapper = wrap(property, (...args) => (value as Operation).apply(target, args));
      if (!wrapper) return value;
      wrappers.set(property, wrapper);
      return wrapper;
    },
  });
}
