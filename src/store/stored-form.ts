import { hookCursorKey } from '../domain/hook-cursor.js';
import { defineOwn } from '../domain/own-property.js';

/**
 * The stored form of documents, shared by both adapters:
 * - timestamps are ISO-8601 strings in the port and on the wire, and real dates in the store;
 * - keys inside user data (plan specs, inputs, outputs, metadata) may start with `$` or hold dots, which MongoDB
 *   does not accept as field names: they are percent-escaped (`%24`, `%2E`, `%25`) and restored on read;
 * - an array inside an array is stored as an object of its items by index plus a `%[]` key holding its length:
 *   FerretDB refuses nested arrays (and the NeDB store of earlier versions walked them exponentially; stores imported
 *   from it hold this form). No escaped user key can be `%[]` (a user's `%` is stored as `%25`).
 */
export const Collection = {
  plans: 'plans',
  runs: 'runs',
  steps: 'steps',
  artifacts: 'artifacts',
  events: 'events',
  schedules: 'schedules',
  logChunks: 'log_chunks',
} as const;
export type Collection = (typeof Collection)[keyof typeof Collection];

const dateFields: Record<Collection, readonly string[]> = {
  plans: ['created_at'],
  runs: ['created_at', 'started_at', 'ended_at', 'cancel_requested_at', 'scheduled_for', 'lease.expires_at'],
  steps: ['created_at', 'started_at', 'ended_at', 'ready_at', 'offered_at', 'lease.expires_at'],
  artifacts: ['created_at'],
  events: ['at'],
  schedules: ['created_at', 'next_tick_at', 'last_tick_at'],
  log_chunks: ['at'],
};

function mapPath(doc: Record<string, unknown>, path: string, convert: (value: unknown) => unknown): void {
  const [head, ...rest] = path.split('.');
  if (head === undefined || !(head in doc)) return;
  if (rest.length === 0) {
    doc[head] = convert(doc[head]);
    return;
  }
  const inner = doc[head];
  if (inner && typeof inner === 'object') {
    const copy = { ...(inner as Record<string, unknown>) };
    mapPath(copy, rest.join('.'), convert);
    doc[head] = copy;
  }
}

function escapeKey(key: string): string {
  return /[%.$]/.test(key) ? key.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\$/g, '%24') : key;
}

function unescapeKey(key: string): string {
  return key.includes('%') ? key.replace(/%2E/g, '.').replace(/%24/g, '$').replace(/%25/g, '%') : key;
}

/** The key of an array stored as an object (see above); escaped user keys never equal it. */
const NESTED_ARRAY_KEY = '%[]';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;

/**
 * Copies a JSON value with every object key mapped (Dates and other non-plain objects are kept as they are) and,
 * on the way to the store, every array inside an array made an object. Iterative: a value may nest deeply.
 */
function mapKeys(value: unknown, mapKey: (key: string) => string, direction: 'store' | 'read'): unknown {
  const root: { value?: unknown } = {};
  const work: Array<{
    from: unknown;
    into: Record<string, unknown> | unknown[];
    key: string | number;
    inArray: boolean;
  }> = [{ from: value, into: root, key: 'value', inArray: false }];
  while (work.length > 0) {
    const { from, into, key, inArray } = work.pop()!;
    let copy: unknown = from;
    if (Array.isArray(from)) {
      if (direction === 'store' && inArray) {
        const object: Record<string, unknown> = { [NESTED_ARRAY_KEY]: from.length };
        from.forEach((item, index) => work.push({ from: item, into: object, key: String(index), inArray: true }));
        copy = object;
      } else {
        const array: unknown[] = new Array<unknown>(from.length);
        from.forEach((item, index) => work.push({ from: item, into: array, key: index, inArray: true }));
        copy = array;
      }
    } else if (isPlainObject(from)) {
      const items = direction === 'read' ? storedArrayItems(from) : undefined;
      if (items) {
        const array: unknown[] = new Array<unknown>(items.length);
        items.forEach((item, index) => work.push({ from: item, into: array, key: index, inArray: true }));
        copy = array;
      } else {
        const object: Record<string, unknown> = {};
        for (const [inner, innerValue] of Object.entries(from)) {
          // Defined now, filled later: the copy keeps the keys in their order.
          const mapped = mapKey(inner);
          defineOwn(object, mapped, undefined);
          work.push({ from: innerValue, into: object, key: mapped, inArray });
        }
        copy = object;
      }
    }
    if (Array.isArray(into)) into[key as number] = copy;
    else defineOwn(into, key as string, copy);
  }
  return root.value;
}

/** The items of an array stored as an object, or undefined when the object is not one. */
function storedArrayItems(object: Record<string, unknown>): unknown[] | undefined {
  const length = object[NESTED_ARRAY_KEY];
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) return undefined;
  if (Object.keys(object).length !== length + 1) return undefined;
  const items: unknown[] = [];
  for (let index = 0; index < length; index += 1) {
    if (!Object.hasOwn(object, String(index))) return undefined;
    items.push(object[String(index)]);
  }
  return items;
}

/** Our own field names never hold `$`, `.` or `%`, so only user data changes; top-level keys are field paths. */
function mapNestedKeys(
  doc: Record<string, unknown>,
  mapKey: (key: string) => string,
  direction: 'store' | 'read',
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(doc))
    // A read value without an escaped key (almost all) is kept: it is the adapter's fresh copy, nobody else's.
    out[field] = direction === 'read' && !holdsKeyWith(value, '%') ? value : mapKeys(value, mapKey, direction);
  return out;
}

/** True when some object key inside the value contains `mark`. A walk without copies. */
function holdsKeyWith(value: unknown, mark: string): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (current === null || typeof current !== 'object' || current instanceof Date) continue;
    if (Array.isArray(current)) {
      for (const item of current) pending.push(item);
      continue;
    }
    for (const key of Object.keys(current)) {
      if (key.includes(mark)) return true;
      pending.push((current as Record<string, unknown>)[key]);
    }
  }
  return false;
}

const toDate = (value: unknown): unknown => (typeof value === 'string' ? new Date(value) : value);
const toIso = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : value);

/** A port document as it is stored: date strings become Dates. */
export function toStored<T extends object>(collection: Collection, doc: T): Record<string, unknown> {
  const stored = mapNestedKeys(doc as Record<string, unknown>, escapeKey, 'store');
  for (const field of dateFields[collection]) mapPath(stored, field, toDate);
  if (collection === Collection.runs && Array.isArray(stored.hook_failures)) {
    stored.hook_failures = (stored.hook_failures as Array<Record<string, unknown>>).map((f) => ({
      ...f,
      at: toDate(f.at),
    }));
  }
  return stored;
}

/** A stored document in port form: Dates become ISO strings and the store's own _id is dropped. */
export function fromStored<T>(collection: Collection, stored: Record<string, unknown>): T {
  const { _id: _storeId, ...raw } = stored;
  const doc = mapNestedKeys(raw, unescapeKey, 'read');
  for (const field of dateFields[collection]) mapPath(doc, field, toIso);
  if (collection === Collection.runs && Array.isArray(doc.hook_failures)) {
    doc.hook_failures = (doc.hook_failures as Array<Record<string, unknown>>).map((f) => ({ ...f, at: toIso(f.at) }));
  }
  return doc as T;
}

/** The field path of a hook's delivery cursor. */
export function hookCursorField(hook: string): string {
  return `hook_cursors.${hookCursorKey(hook)}`;
}
