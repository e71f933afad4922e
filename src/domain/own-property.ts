/**
 * Sets an own, enumerable property even for keys like `__proto__`: user data may hold any key, and a plain
 * assignment of `__proto__` would change the object's prototype instead of storing the value.
 */
export function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
