// A concurrency group is its owner's: runs are looked up by group name and owner, so the group index gains the
// owner (runs_owner_concurrency_group replaces runs_concurrency_group). applyStoreSchema is idempotent.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await db
    .collection('runs')
    .dropIndex('runs_concurrency_group')
    .catch(() => undefined);
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

export async function down(db) {
  const runs = db.collection('runs');
  await runs.dropIndex('runs_owner_concurrency_group').catch(() => undefined);
  await runs.createIndex({ 'concurrency.group': 1, status: 1 }, { name: 'runs_concurrency_group', sparse: true });
}
