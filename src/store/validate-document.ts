import type { Collection } from './stored-form.js';
import { assertJsonWithin, Limits } from '../domain/json-limits.js';
import { assertMatchesSchema } from '../schema/validators.js';

/** Nothing is written that an adapter could not read back (MongoDB refuses very deep documents and those past 16 MiB). */
export function assertStorable(value: unknown, what: string): void {
  assertJsonWithin(value, { maxDepth: Limits.documentDepth, maxBytes: Limits.documentBytes }, what);
}

/** The schema each collection's documents match, here (ajv) and in MongoDB's validators. */
export const schemaOfCollection: Record<Collection, string> = {
  plans: 'plan-document.schema.json',
  runs: 'run.schema.json',
  steps: 'step.schema.json',
  artifacts: 'artifact.schema.json',
  events: 'event.schema.json',
  schedules: 'schedule.schema.json',
  log_chunks: 'log-chunk.schema.json',
};

/** Every adapter validates a new document before it writes anything, so a bad one leaves the store unchanged. */
export function assertValidDocument(collection: Collection, doc: unknown): void {
  assertStorable(doc, `${collection.replace(/s$/, '')} document`);
  assertMatchesSchema(
    schemaOfCollection[collection],
    doc,
    'DOCUMENT_INVALID',
    `${collection.replace(/s$/, '')} document`,
  );
}
