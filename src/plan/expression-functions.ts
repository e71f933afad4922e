/** The functions `${{ }}` expressions may call, each bounded in what it builds. */
import { MaestroError } from '../domain/errors.js';
import { Limits } from '../domain/json-limits.js';

/** Refuses a string past the expression result limit (checked as it grows, so nothing huge is ever built). */
export function boundedLength(length: number): void {
  if (length > Limits.expressionResultChars) {
    throw new MaestroError(
      'LIMIT_EXCEEDED',
      `an expression result would be longer than ${Limits.expressionResultChars} characters`,
      {
        details: { limit: 'expression_result_chars', expected: `at most ${Limits.expressionResultChars} characters` },
      },
    );
  }
}

/** How a value reads inside text: strings as they are, anything else as JSON (never "[object Object]"). */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function joinBounded(parts: readonly string[], separator: string): string {
  let length = 0;
  for (const part of parts) boundedLength((length += part.length + separator.length));
  return parts.join(separator);
}

export const expressionFunctions: Record<string, (...args: unknown[]) => unknown> = {
  length: (value) =>
    typeof value === 'string' || Array.isArray(value)
      ? value.length
      : value && typeof value === 'object'
        ? Object.keys(value).length
        : 0,
  contains: (haystack, needle) =>
    typeof haystack === 'string'
      ? haystack.includes(String(needle))
      : Array.isArray(haystack)
        ? haystack.some((x) => x === needle)
        : false,
  startsWith: (value, prefix) => typeof value === 'string' && value.startsWith(String(prefix)),
  join: (value, separator) =>
    Array.isArray(value) ? joinBounded(value.map(textOf), separator === undefined ? ',' : textOf(separator)) : '',
  toJSON: (value) => JSON.stringify(value ?? null),
  fromJSON: (value) => {
    try {
      return JSON.parse(String(value)) as unknown;
    } catch {
      throw new MaestroError('EXPRESSION_INVALID', 'fromJSON() got text that is not JSON');
    }
  },
  format: (template, ...args) => {
    let length = 0;
    return String(template).replace(/\{(\d+)\}/g, (_, i: string) => {
      const part = textOf(args[Number(i)] ?? '');
      boundedLength((length += part.length));
      return part;
    });
  },
};
