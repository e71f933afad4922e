import type { Update } from '../document-collection.js';
import { encodeValue } from './sqlite-json.js';

/** Field names SQL is given inline: letters, digits, `_` and `-`, not starting with a digit (no array positions). */
const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * An update as SQL: the new document text as an expression of the row's `doc`, and the condition under which it
 * means what applyUpdate means (every object on a field's path is an object or absent, an $inc'd field a number or
 * absent). Where that condition fails, the caller applies the update in this process instead, which reports why.
 */
export interface SqlUpdate {
  document: string;
  params: unknown[];
  applies: string;
}

const jsonPath = (path: string) => `'$.${path}'`;

/** The proper prefixes of a dotted path: `a`, `a.b` for `a.b.c`. */
function prefixesOf(path: string): string[] {
  const segments = path.split('.');
  return segments.slice(1).map((_, end) => segments.slice(0, end + 1).join('.'));
}

/**
 * $set, $unset and $inc on plain field paths as json_set/json_remove, so a guarded update is one UPDATE statement
 * (one implicit transaction) instead of a read, a write and their BEGIN and COMMIT. Undefined for anything else
 * ($max, $push, $addToSet, paths SQL is not given, paths that overlap, values JSON cannot hold): applyUpdate does those.
 */
export function updateToSql(update: Update): SqlUpdate | undefined {
  const removed: string[] = [];
  const assignments: string[] = [];
  const params: unknown[] = [];
  const conditions: string[] = [];
  const paths: string[] = [];
  for (const [operator, fields] of Object.entries(update)) {
    if (fields === null || typeof fields !== 'object') return undefined;
    for (const [path, value] of Object.entries(fields)) {
      if (path === '_id' || !path.split('.').every((segment) => PLAIN_SEGMENT.test(segment))) return undefined;
      paths.push(path);
      if (operator === '$unset') removed.push(jsonPath(path));
      else if (operator === '$set') {
        const text = encodeValue(value);
        if (text === undefined) return undefined;
        assignments.push(`${jsonPath(path)}, json(?)`);
        params.push(text);
      } else if (operator === '$inc') {
        if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
        assignments.push(`${jsonPath(path)}, coalesce(json_extract(doc, ${jsonPath(path)}), 0) + ?`);
        params.push(value);
        conditions.push(`coalesce(json_type(doc, ${jsonPath(path)}), 'integer') IN ('integer', 'real')`);
      } else return undefined;
      for (const prefix of prefixesOf(path))
        conditions.push(`coalesce(json_type(doc, ${jsonPath(prefix)}), 'object') = 'object'`);
    }
  }
  // Overlapping paths (a field and itself, or one inside the other) are MongoDB's conflict: left to applyUpdate.
  const sorted = [...paths].sort();
  if (sorted.some((path, i) => i > 0 && (path === sorted[i - 1] || path.startsWith(`${sorted[i - 1]}.`))))
    return undefined;
  let document = removed.length > 0 ? `json_remove(doc, ${removed.join(', ')})` : 'doc';
  if (assignments.length > 0) document = `json_set(${document}, ${assignments.join(', ')})`;
  return { document, params, applies: conditions.length > 0 ? [...new Set(conditions)].join(' AND ') : '1' };
}
