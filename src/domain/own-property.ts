/**
 * Sets an own, enumerable property even for keys like `__proto__`: user data may hold any key, and a plain
 * assignment of `__proto__` would change the object's prototype instead of storing the value. Every other key of a
 * plain object assigns as it defines (Object.prototype's only setter is `__proto__`), and assigning is much faster.
 */
export function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
