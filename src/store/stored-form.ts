import { hookCursorKey } from '../domain/hook-cursor.js';
import { defineOwn } from '../domain/own-property.js';

/**
 * The stored form of documents, shared by both adapters:
 * - timestamps are ISO-8601 strings in the port and on the wire, and real dates in the store;
 * - keys inside user data (plan specs, inputs, outputs, metadata) may start with `$` or hold dots, which
 *   neither MongoDB nor NeDB accept as field names: they are percent-escaped (`%24`, `%2E`, `%25`) and restored on read.
 */
export const Collection = {
  plans: 'plans',
  runs: 'runs',
  steps: 'steps',
  artifacts: 'artifacts',
  events: 'events',
  schedules: 'schedules',
} as const;
export type Collection = (typeof Collection)[keyof typeof Collection];

const dateFields: Record<Collection, readonly string[]> = {
  plans: ['created_at'],
  runs: ['created_at', 'started_at', 'ended_at', 'cancel_requested_at', 'scheduled_for', 'lease.expires_at'],
  steps: ['created_at', 'started_at', 'ended_at', 'ready_at', 'lease.expires_at'],
  artifacts: ['created_at'],
  events: ['at'],
  schedules: ['created_at', 'next_tick_at', 'last_tick_at'],
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

/** Copies a JSON value with every object key mapped (Dates and other non-plain objects are kept as they are). */
function mapKeys(value: unknown, mapKey: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => mapKeys(item, mapKey));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) defineOwn(out, mapKey(key), mapKeys(inner, mapKey));
    return out;
  }
  return value;
}

/** Our own field names never hold `$`, `.` or `%`, so only user data changes; top-level keys are field paths. */
function mapNestedKeys(doc: Record<string, unknown>, mapKey: (key: string) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(doc)) out[field] = mapKeys(value, mapKey);
  return out;
}

const toDate = (value: unknown): unknown => (typeof value === 'string' ? new Date(value) : value);
const toIso = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : value);

/** A port document as it is stored: date strings become Dates. */
export function toStored<T extends object>(collection: Collection, doc: T): Record<string, unknown> {
  const stored = mapNestedKeys(doc as Record<string, unknown>, escapeKey);
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
  const doc = mapNestedKeys(raw, unescapeKey);
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
