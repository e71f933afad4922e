// Adds the runs_parent_created index (cancelling a run finds its child runs by parent_run_id).
// applyStoreSchema is idempotent: existing collections, validators and indexes are left as they are.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

export async function down(db) {
  await db
    .collection('runs')
    .dropIndex('runs_parent_created')
    .catch(() => undefined);
}
