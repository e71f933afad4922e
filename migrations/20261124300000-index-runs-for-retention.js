// Adds the indexes retention reads by: runs by root_run_id (a run tree), and ended root runs by ended_at.
// applyStoreSchema is idempotent: existing collections, validators and indexes are left as they are.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

export async function down(db) {
  for (const name of ['runs_root', 'runs_status_ended'])
    await db
      .collection('runs')
      .dropIndex(name)
      .catch(() => undefined);
}
