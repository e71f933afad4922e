// Runs and schedules may carry allowed_kinds (the step kinds their origin allows): the validators are replaced to
// allow it. applyStoreSchema is idempotent (collMod); a server without validators keeps relying on ajv.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

// The field is optional: the older validator would refuse runs that carry it, so down leaves the new one.
export async function down() {}
