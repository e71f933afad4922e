// Runs may carry trace_parent and traceparent (W3C trace context): the runs validator is replaced to allow them.
// applyStoreSchema is idempotent (collMod); a server without validators keeps relying on ajv.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

// The fields are optional: the older validator would refuse runs that carry them, so down leaves the new one.
export async function down() {}
