/**
 * Timestamps are ISO-8601 strings in the port and on the wire, and real dates in the store.
 * Both adapters store the same shape, so the field lists live here once.
 */
export const Collection = {
  plans: 'plans',
  runs: 'runs',
  steps: 'steps',
  artifacts: 'artifacts',
  events: 'events',
} as const;
export type Collection = (typeof Collection)[keyof typeof Collection];

const dateFields: Record<Collection, readonly string[]> = {
  plans: ['created_at'],
  runs: ['created_at', 'started_at', 'ended_at', 'cancel_requested_at', 'lease.expires_at'],
  steps: ['created_at', 'started_at', 'ended_at', 'ready_at', 'lease.expires_at'],
  artifacts: ['created_at'],
  events: ['at'],
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

const toDate = (value: unknown): unknown => (typeof value === 'string' ? new Date(value) : value);
const toIso = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : value);

/** A port document as it is stored: date strings become Dates. */
export function toStored<T extends object>(collection: Collection, doc: T): Record<string, unknown> {
  const stored: Record<string, unknown> = { ...(doc as Record<string, unknown>) };
  for (const field of dateFields[collection]) mapPath(stored, field, toDate);
  if (collection === Collection.runs && Array.isArray(stored.hook_failures)) {
    stored.hook_failures = (stored.hook_failures as Array<Record<string, unknown>>).map((f) => ({ ...f, at: toDate(f.at) }));
  }
  return stored;
}

/** A stored document in port form: Dates become ISO strings and the store's own _id is dropped. */
export function fromStored<T>(collection: Collection, stored: Record<string, unknown>): T {
  const { _id: _storeId, ...doc } = stored;
  for (const field of dateFields[collection]) mapPath(doc, field, toIso);
  if (collection === Collection.runs && Array.isArray(doc.hook_failures)) {
    doc.hook_failures = (doc.hook_failures as Array<Record<string, unknown>>).map((f) => ({ ...f, at: toIso(f.at) }));
  }
  return doc as T;
}

/** A patch's date values as Dates (top-level and `lease.expires_at`). */
export function patchToStored(collection: Collection, patch: Record<string, unknown>): Record<string, unknown> {
  return toStored(collection, patch);
}

/** Hook names may hold dots and slashes; as a field key they must not. */
export function hookCursorField(hook: string): string {
  return `hook_cursors.${hook.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
