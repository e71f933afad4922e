// Adds the runs_status_created index: `runs list --status X` without an owner reads a page in index order instead
// of every run of that status. applyStoreSchema is idempotent: existing collections, validators and indexes stay.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

export async function down(db) {
  await db
    .collection('runs')
    .dropIndex('runs_status_created')
    .catch(() => undefined);
}
