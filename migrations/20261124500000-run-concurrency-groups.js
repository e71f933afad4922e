// Runs may carry a concurrency group: the runs validator is replaced to allow it, and the group index is added.
// applyStoreSchema is idempotent (collMod); a server without validators keeps relying on ajv.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

export async function down(db) {
  await db
    .collection('runs')
    .dropIndex('runs_concurrency_group')
    .catch(() => undefined);
}
