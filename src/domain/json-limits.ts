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
  return deepestPoint(value, stopAt).depth;
}

interface Visit {
  value: unknown;
  depth: number;
  /** The visit of the object or array holding this value, and its key there: the way back to the root. */
  parent: Visit | undefined;
  key: string | number | undefined;
}

/**
 * How deep a value nests, and the path (from `$`) of a value at that depth. Stops once deeper than stopAt, so the
 * path names where the value first goes too deep. Each value is visited once: linear in the value's size.
 */
export function deepestPoint(value: unknown, stopAt: number): { depth: number; path: string } {
  let deepest: Visit | undefined;
  const stack: Visit[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const current = visit.value;
    if (current === null || typeof current !== 'object') continue;
    const level = { ...visit, depth: visit.depth + 1 };
    if (!deepest || level.depth > deepest.depth) deepest = level;
    if (level.depth > stopAt) break;
    if (Array.isArray(current))
      current.forEach((inner, index) => stack.push({ value: inner, depth: level.depth, parent: level, key: index }));
    else
      for (const [key, inner] of Object.entries(current))
        stack.push({ value: inner, depth: level.depth, parent: level, key });
  }
  return { depth: deepest?.depth ?? 0, path: pathOf(deepest) };
}

/**
 * Whether a value nests deeper than maxDepth: the check every stored write makes, so without deepestPoint's path
 * bookkeeping (objects and arrays only on the stack, two arrays instead of a record per value).
 */
function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > maxDepth) return true;
    for (const inner of Array.isArray(current) ? current : Object.values(current))
      if (inner !== null && typeof inner === 'object') {
        values.push(inner);
        depths.push(depth + 1);
      }
  }
  return false;
}

const PATH_KEY_CHARS = 40;

/** `$.a[0]["b c"]`: the path of a visit, each key cut to a readable length (keys can be as long as the value). */
function pathOf(visit: Visit | undefined): string {
  const parts: string[] = [];
  for (let at = visit; at?.key !== undefined; at = at.parent) {
    const { key } = at;
    if (typeof key === 'number') parts.push(`[${key}]`);
    else {
      const shown = key.length > PATH_KEY_CHARS ? `${key.slice(0, PATH_KEY_CHARS)}…` : key;
      parts.push(/^[A-Za-z_][A-Za-z0-9_]*$/.test(shown) ? `.${shown}` : `[${JSON.stringify(shown)}]`);
    }
  }
  return `$${parts.reverse().join('')}`;
}

/**
 * Refuses a value nested deeper than maxDepth or larger than maxBytes as JSON, naming where it is. `path` is a
 * JSON path (`$.inputs`) or a description (`step update`); a JSON path is extended to where the value goes too deep.
 */
export function assertJsonWithin(
  value: unknown,
  limits: { maxDepth: number; maxBytes: number },
  path: string,
  code: ErrorCode = 'LIMIT_EXCEEDED',
): void {
  if (nestsDeeperThan(value, limits.maxDepth)) {
    const deepest = deepestPoint(value, limits.maxDepth);
    const where = path.startsWith('$') ? `${path}${deepest.path.slice(1)}` : deepest.path;
    throw new MaestroError(code, `${path} nests deeper than ${limits.maxDepth} levels (at ${where})`, {
      retryable: false,
      details: {
        path: path.startsWith('$') ? where : path,
        ...(path.startsWith('$') ? {} : { at: where }),
        limit: 'depth',
        expected: `at most ${limits.maxDepth} levels`,
      },
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
