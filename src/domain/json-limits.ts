import { MaestroError } from './errors.js';
import type { ErrorCode } from './error-codes.js';

/**
 * Limits on what anyone may hand Maestro, so no input can make a document the store cannot read back, a value
 * that fills memory, or a run that cannot end. Each is documented in the README's "Trust model and limits".
 */
export const Limits = Object.freeze({
  /** Nesting of run inputs, step outputs, artifact metadata and plan `with` blocks. */
  jsonDepth: 32,
  /** Nesting of any stored document (a little above jsonDepth: documents wrap those values). */
  documentDepth: 48,
  /** Run inputs, as JSON text. */
  inputsBytes: 256 * 1024,
  /** One step's outputs (also an outside status update's): larger results belong in an artifact. */
  outputsBytes: 1024 * 1024,
  /** An artifact's metadata, as JSON text. */
  metadataBytes: 64 * 1024,
  /** Any stored document, below MongoDB's 16 MiB so a write is refused here, not half-done there. */
  documentBytes: 8 * 1024 * 1024,
  /** One `${{ }}` result, and every string a function builds on the way. */
  expressionResultChars: 1024 * 1024,
  /** Copies one `foreach` makes. */
  foreachItems: 10_000,
  /** A reported or updated cost. */
  maxCost: 1e12,
});

/** How deep a JSON value nests, counted without recursion (a hostile value may nest a million levels). */
export function jsonDepth(value: unknown, stopAt: number): number {
  let deepest = 0;
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > stopAt) return deepest;
    for (const inner of Array.isArray(current) ? current : Object.values(current))
      stack.push({ value: inner, depth: level });
  }
  return deepest;
}

/** Refuses a value nested deeper than maxDepth or larger than maxBytes as JSON, naming where it is. */
export function assertJsonWithin(
  value: unknown,
  limits: { maxDepth: number; maxBytes: number },
  path: string,
  code: ErrorCode = 'LIMIT_EXCEEDED',
): void {
  const depth = jsonDepth(value, limits.maxDepth);
  if (depth > limits.maxDepth) {
    throw new MaestroError(code, `${path} nests deeper than ${limits.maxDepth} levels`, {
      retryable: false,
      details: { path, limit: 'depth', expected: `at most ${limits.maxDepth} levels` },
    });
  }
  // JSON.stringify gives undefined for undefined and functions, whatever its declared type says.
  const text: unknown = JSON.stringify(value);
  const bytes = typeof text === 'string' ? Buffer.byteLength(text) : 0;
  if (bytes > limits.maxBytes) {
    throw new MaestroError(code, `${path} is ${bytes} bytes of JSON, more than ${limits.maxBytes}`, {
      retryable: false,
      details: { path, limit: 'bytes', expected: `at most ${limits.maxBytes} bytes`, got: bytes },
    });
  }
}
