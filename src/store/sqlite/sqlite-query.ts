import type { Filter, SortOrder } from '../document-collection.js';
import { DATE_TEXT_BEFORE, DATE_TEXT_FROM, dateText } from './sqlite-json.js';

/** A WHERE clause and its parameters; `exact` when it selects exactly what MongoDB would, else a superset. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
  exact: boolean;
}

const ALL: SqlCondition = { sql: '1', params: [], exact: true };
/** Left to the in-process matcher: SQL selects everything for this part. */
const RESIDUAL: SqlCondition = { sql: '1', params: [], exact: false };
const SAFE_SEGMENT = /^[A-Za-z0-9_-]+$/;
const LONG_IN = 100;
const COMPARISONS: Record<string, string> = { $lt: '<', $lte: '<=', $gt: '>', $gte: '>=' };

/**
 * The SQL value of a field path: the `id` column for `_id`, else json_extract with the path inlined, because an
 * expression index is used only when a query spells the same expression. Undefined for paths SQL is not given.
 */
export function fieldSql(path: string): string | undefined {
  if (path === '_id') return 'id';
  const segments = path.split('.');
  if (!segments.every((segment) => SAFE_SEGMENT.test(segment))) return undefined;
  return `json_extract(doc, '$.${segments.join('.')}')`;
}

export function jsonTypeSql(path: string): string {
  return `json_type(doc, '$.${path}')`;
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    Object.keys(value).length > 0 &&
    Object.keys(value).every((key) => key.startsWith('$'))
  );
}

/**
 * A scalar as SQL compares it, with the JSON type a stored value must have to compare equal under MongoDB's
 * rules (json_extract gives numbers and booleans alike as numbers, strings and objects alike as text).
 */
function sqlValue(value: unknown): { param: unknown; types: string[] } | undefined {
  if (typeof value === 'string') return { param: value, types: ['text'] };
  if (typeof value === 'number' && Number.isFinite(value)) return { param: value, types: ['integer', 'real'] };
  if (typeof value === 'boolean') return { param: value ? 1 : 0, types: [value ? 'true' : 'false'] };
  if (value instanceof Date && !Number.isNaN(value.getTime())) return { param: dateText(value), types: ['object'] };
  return undefined;
}

function typeGuard(path: string, types: string[]): string {
  if (path === '_id') return '1';
  return types.length === 1
    ? `${jsonTypeSql(path)} = '${types[0]}'`
    : `${jsonTypeSql(path)} IN ('${types.join("', '")}')`;
}

/** Plain loops: this runs for every store call (a claim's filter is about ten parts). */
function and(parts: SqlCondition[]): SqlCondition {
  let sql = '';
  const params: unknown[] = [];
  let exact = true;
  for (const part of parts) {
    exact &&= part.exact;
    if (part.sql === '1') continue;
    sql += sql === '' ? `(${part.sql})` : ` AND (${part.sql})`;
    for (const param of part.params) params.push(param);
  }
  return { sql: sql === '' ? '1' : sql, params, exact };
}

function or(parts: SqlCondition[]): SqlCondition {
  let sql = '';
  const params: unknown[] = [];
  let exact = true;
  let all = false;
  for (const part of parts) {
    exact &&= part.exact;
    if (part.sql === '1') all = true;
    sql += sql === '' ? `(${part.sql})` : ` OR (${part.sql})`;
    for (const param of part.params) params.push(param);
  }
  if (all) return { ...ALL, exact };
  if (parts.length === 0) return { sql: '0', params: [], exact: true };
  return { sql, params, exact };
}

function equals(path: string, field: string, value: unknown): SqlCondition {
  if (value === null)
    return { sql: `${jsonTypeSql(path)} IS NULL OR ${jsonTypeSql(path)} = 'null'`, params: [], exact: true };
  const scalar = sqlValue(value);
  if (!scalar) return RESIDUAL;
  return { sql: `${field} = ? AND ${typeGuard(path, scalar.types)}`, params: [scalar.param], exact: true };
}

function operator(path: string, field: string, op: string, operand: unknown): SqlCondition {
  if (op === '$exists') {
    if (path === '_id') return operand ? ALL : { sql: '0', params: [], exact: true };
    return { sql: `${jsonTypeSql(path)} IS ${operand ? 'NOT ' : ''}NULL`, params: [], exact: true };
  }
  if (op === '$in' && Array.isArray(operand)) {
    if (operand.length === 0) return { sql: '0', params: [], exact: true };
    const values = operand.map(sqlValue);
    const types = values[0]?.types;
    // One JSON type for all of them (statuses, ids): one IN over the index; anything mixed is left to the matcher.
    if (!types || values.some((v) => !v || v.types.join() !== types.join())) return RESIDUAL;
    const params = values.map((v) => v!.param);
    // A long list (a run tree's ids) is one JSON parameter: SQLite takes at most 32,766 parameters per statement.
    const list = params.length > LONG_IN ? 'SELECT value FROM json_each(?)' : params.map(() => '?').join(', ');
    return {
      sql: `${field} IN (${list}) AND ${typeGuard(path, types)}`,
      params: params.length > LONG_IN ? [JSON.stringify(params)] : params,
      exact: true,
    };
  }
  const comparison = COMPARISONS[op];
  const scalar = sqlValue(operand);
  if (!comparison || !scalar || typeof operand === 'boolean') return RESIDUAL;
  if (operand instanceof Date) {
    // Within the range of tagged dates only, so the index scan stays on dates and the comparison is chronological.
    return {
      sql: `${field} ${comparison} ? AND ${field} >= ? AND ${field} < ? AND ${typeGuard(path, scalar.types)}`,
      params: [scalar.param, DATE_TEXT_FROM, DATE_TEXT_BEFORE],
      exact: true,
    };
  }
  return { sql: `${field} ${comparison} ? AND ${typeGuard(path, scalar.types)}`, params: [scalar.param], exact: true };
}

function fieldCondition(path: string, condition: unknown): SqlCondition {
  const field = fieldSql(path);
  if (!field) return RESIDUAL;
  if (!isOperatorObject(condition)) return equals(path, field, condition);
  return and(Object.entries(condition).map(([op, operand]) => operator(path, field, op, operand)));
}

/**
 * The bound every branch of an $or puts on one field, when they all bound it from one side by the same value: the
 * keyset cursor `{$or: [{created_at: {$lt: t}}, {created_at: t, _id: {$lt: id}}]}` implies `created_at <= t`. Added
 * beside the $or, it lets SQLite read an index range in sort order instead of merging the branches and sorting.
 */
function impliedBound(branches: Filter[]): Filter | undefined {
  const [first, ...rest] = branches;
  if (!first || rest.length === 0) return undefined;
  for (const path of Object.keys(first)) {
    if (path.startsWith('$') || path === '_id') continue;
    const bounds = branches.map((branch) => boundOf(branch[path]));
    const value = bounds[0]?.value;
    const sides = new Set(bounds.map((bound) => bound?.side));
    const same = bounds.every((bound) => bound && sameValue(bound.value, value));
    if (!same || sides.has(undefined) || (sides.has('upper') && sides.has('lower'))) continue;
    return { [path]: { [sides.has('lower') ? '$gte' : '$lte']: value } };
  }
  return undefined;
}

function boundOf(condition: unknown): { side: 'upper' | 'lower' | 'both'; value: unknown } | undefined {
  if (!isOperatorObject(condition)) return sqlValue(condition) ? { side: 'both', value: condition } : undefined;
  const [op, ...more] = Object.keys(condition);
  if (more.length > 0 || op === undefined) return undefined;
  const side = op === '$lt' || op === '$lte' ? 'upper' : op === '$gt' || op === '$gte' ? 'lower' : undefined;
  return side ? { side, value: condition[op] } : undefined;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
}

/**
 * A MongoDB-style filter as SQL, for the shapes the store's queries use: equality, $in, $lt/$lte/$gt/$gte, $exists,
 * $and and $or, on scalars, dates and `_id`, with dotted paths. Anything else selects a superset (`exact: false`)
 * that the caller narrows with the in-process matcher. Exact for documents shaped as the schemas say (scalar fields
 * are not arrays: MongoDB would also match an array holding the value).
 */
export function filterToSql(filter: Filter): SqlCondition {
  const parts: SqlCondition[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(condition)) parts.push(and(condition.map((f) => filterToSql(f as Filter))));
    else if (key === '$or' && Array.isArray(condition)) {
      const bound = impliedBound(condition as Filter[]);
      if (bound) parts.push(filterToSql(bound));
      parts.push(or(condition.map((f) => filterToSql(f as Filter))));
    } else if (key.startsWith('$')) parts.push(RESIDUAL);
    else parts.push(fieldCondition(key, condition));
  }
  return and(parts);
}

/** ORDER BY for a sort (the store sorts on its own field names only, which SQL can always name). */
export function sortToSql(sort: SortOrder | undefined): string {
  if (!sort || Object.keys(sort).length === 0) return '';
  const terms: string[] = [];
  for (const [path, direction] of Object.entries(sort)) {
    const field = fieldSql(path);
    if (!field) throw new Error(`cannot sort on ${JSON.stringify(path)}: not a plain field path`);
    terms.push(`${field} ${direction === -1 ? 'DESC' : 'ASC'}`);
  }
  return ` ORDER BY ${terms.join(', ')}`;
}
