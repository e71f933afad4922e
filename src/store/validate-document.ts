import type { Collection } from './stored-form.js';
import { assertMatchesSchema } from '../schema/validators.js';

const schemaOf: Record<Collection, string> = {
  plans: 'plan-document.schema.json',
  runs: 'run.schema.json',
  steps: 'step.schema.json',
  artifacts: 'artifact.schema.json',
  events: 'event.schema.json',
};

/** Every adapter validates a new document before it writes anything, so a bad one leaves the store unchanged. */
export function assertValidDocument(collection: Collection, doc: unknown): void {
  assertMatchesSchema(schemaOf[collection], doc, 'DOCUMENT_INVALID', `${collection.replace(/s$/, '')} document`);
}
