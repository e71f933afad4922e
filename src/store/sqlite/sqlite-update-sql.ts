import type { Update } from '../document-collection.js';
import { DATE_TAG, encodeValue } from './sqlite-json.js';
import { fieldSql, jsonTypeSql } from './sqlite-query.js';

/** Field names SQL is given inline: letters, digits, `_` and `-`, not starting with a digit (no array positions). */
const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * An update as SQL: the new document text as an expression of the row's `doc`, and the condition under which it
 * means what applyUpdate means (every object on a field's path a plain object or absent, not a stored date; an
 * $inc'd field a number or absent, and its sum finite). Where that condition fails, the caller applies the update in
 * this process instead, which reports why. `params` bind in the expression, `appliesParams` in the condition.
 */
export interface SqlUpdate {
  document: string;
  params: unknown[];
  applies: string;
  appliesParams: unknown[];
}

const jsonPath = (path: string) => `'$.${path}'`;
const LARGEST_DOUBLE = '1.7976931348623157e308';

/** The proper prefixes of a dotted path: `a`, `a.b` for `a.b.c`. */
function prefixesOf(path: string): string[] {
  const segments = path.split('.');
  return segments.slice(1).map((_, end) => segments.slice(0, end + 1).join('.'));
}

/** A field and itself, or one inside the other: MongoDB's conflict, and an order SQL would not keep. */
function overlapping(paths: string[]): boolean {
  return paths.some((path, i) => paths.some((other, j) => i !== j && (other === path || other.startsWith(`${path}.`))));
}

/** An object on an updated field's path: absent, or an object that is not a stored date (`{"$date": …}`). */
function isPlainObjectOrAbsent(path: string): string {
  return `coalesce(${jsonTypeSql(path)}, 'object') = 'object' AND ${jsonTypeSql(`${path}."${DATE_TAG}"`)} IS NULL`;
}

/**
 * $set, $unset and $inc on plain field paths as json_set/json_remove, so a guarded update is one UPDATE statement
 * (one implicit transaction) instead of a read, a write and their BEGIN and COMMIT. Undefined for anything else
 * ($max, $push, $addToSet, `_id`, paths SQL is not given, overlapping paths, values JSON cannot hold): applyUpdate
 * does those.
 */
export function updateToSql(update: Update): SqlUpdate | undefined {
  const removed: string[] = [];
  const assignments: string[] = [];
  const params: unknown[] = [];
  const conditions: string[] = [];
  const appliesParams: unknown[] = [];
  const paths: string[] = [];
  for (const [operator, fields] of Object.entries(update)) {
    if (fields === null || typeof fields !== 'object') return undefined;
    for (const [path, value] of Object.entries(fields)) {
      const segments = path.split('.');
      if (segments[0] === '_id' || !segments.every((segment) => PLAIN_SEGMENT.test(segment))) return undefined;
      paths.push(path);
      if (operator === '$unset') removed.push(jsonPath(path));
      else if (operator === '$set') {
        const text = encodeValue(value);
        if (text === undefined) return undefined;
        assignments.push(`${jsonPath(path)}, json(?)`);
        params.push(text);
      } else if (operator === '$inc') {
        if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
        // better-sqlite3 binds every number as a REAL: an integer step is cast, so integer counters stay integers.
        const step = Number.isSafeInteger(value) ? 'CAST(? AS INTEGER)' : '?';
        const sum = `coalesce(${fieldSql(path)!}, 0) + ${step}`;
        assignments.push(`${jsonPath(path)}, ${sum}`);
        params.push(value);
        conditions.push(
          `coalesce(${jsonTypeSql(path)}, 'integer') IN ('integer', 'real')`,
          `abs(${sum}) <= ${LARGEST_DOUBLE}`,
        );
        appliesParams.push(value);
      } else return undefined;
      for (const prefix of prefixesOf(path)) conditions.push(isPlainObjectOrAbsent(prefix));
    }
  }
  if (overlapping(paths)) return undefined;
  let document = removed.length > 0 ? `json_remove(doc, ${removed.join(', ')})` : 'doc';
  if (assignments.length > 0) document = `json_set(${document}, ${assignments.join(', ')})`;
  // Paths that share a parent check it once (only the $inc conditions bind parameters, and those never repeat).
  const applies = conditions.length > 0 ? [...new Set(conditions)].join(' AND ') : '1';
  return { document, params, applies, appliesParams };
}
