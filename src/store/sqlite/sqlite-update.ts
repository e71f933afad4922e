import { isDeepStrictEqual } from 'node:util';
import type { Update } from '../document-collection.js';

type Doc = Record<string, unknown>;

function isPlainObject(value: unknown): value is Doc {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** The object holding a dotted path's last segment, created on the way as MongoDB does; an error where a scalar is in the way. */
function parentOf(doc: Doc, path: string, create: boolean): { parent: Doc; key: string } | undefined {
  const segments = path.split('.');
  const key = segments.pop()!;
  let parent = doc;
  for (const segment of segments) {
    const next = parent[segment];
    if (next === undefined) {
      if (!create) return undefined;
      parent[segment] = {};
    } else if (!isPlainObject(next)) {
      throw new Error(`cannot update ${path}: ${segment} is not an object`);
    }
    parent = parent[segment] as Doc;
  }
  return { parent, key };
}

function set(doc: Doc, path: string, value: unknown): void {
  const { parent, key } = parentOf(doc, path, true)!;
  parent[key] = value;
}

function numberAt(doc: Doc, path: string, operator: string): number | undefined {
  const value = parentOf(doc, path, false)?.parent[path.split('.').at(-1)!];
  if (value !== undefined && typeof value !== 'number') throw new Error(`cannot ${operator} ${path}: not a number`);
  return value;
}

function arrayAt(doc: Doc, path: string, operator: string): unknown[] {
  const { parent, key } = parentOf(doc, path, true)!;
  if (parent[key] === undefined) parent[key] = [];
  const array = parent[key];
  if (!Array.isArray(array)) throw new Error(`cannot ${operator} ${path}: not an array`);
  return array;
}

function eachOf(value: unknown): unknown[] {
  return isPlainObject(value) && Array.isArray(value.$each) ? value.$each : [value];
}

/** A value ordered as MongoDB orders $max's operands of one type: numbers, strings or dates. */
function greater(a: unknown, b: unknown): boolean {
  const ordinal = (v: unknown) => (v instanceof Date ? v.getTime() : v) as number | string;
  return ordinal(a) > ordinal(b);
}

const operators: Record<string, (doc: Doc, path: string, value: unknown) => void> = {
  $set: set,
  $unset(doc, path) {
    const found = parentOf(doc, path, false);
    if (found) delete found.parent[found.key];
  },
  $inc(doc, path, value) {
    set(doc, path, (numberAt(doc, path, '$inc') ?? 0) + (value as number));
  },
  $max(doc, path, value) {
    const current = parentOf(doc, path, false)?.parent[path.split('.').at(-1)!];
    if (current === undefined || greater(value, current)) set(doc, path, value);
  },
  $push(doc, path, value) {
    arrayAt(doc, path, '$push').push(...eachOf(value));
  },
  $addToSet(doc, path, value) {
    const array = arrayAt(doc, path, '$addToSet');
    for (const item of eachOf(value))
      if (!array.some((existing) => isDeepStrictEqual(existing, item))) array.push(item);
  },
};

/**
 * Applies a MongoDB-style update to a document in place ($set, $unset, $inc, $max, $push, $addToSet with $each: the
 * operators the store's writes use); the caller passes the copy it just decoded from the row.
 */
export function applyUpdate(updated: Doc, update: Update): Doc {
  for (const [operator, fields] of Object.entries(update)) {
    const apply = operators[operator];
    if (!apply || !isPlainObject(fields)) throw new Error(`unsupported update ${operator}`);
    for (const [path, value] of Object.entries(fields)) {
      if (path === '_id' || path.startsWith('_id.')) throw new Error('the _id of a document cannot be updated');
      apply(updated, path, value);
    }
  }
  return updated;
}
