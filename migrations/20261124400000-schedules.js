// Adds the schedules collection (with its validator where the server has them) and its indexes, and lets runs
// carry schedule_id and scheduled_for. applyStoreSchema is idempotent.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

// Runs that carry the new fields would not pass the older validator: down drops only what is new and empty.
export async function down(db) {
  const schedules = db.collection('schedules');
  if ((await schedules.countDocuments({}, { limit: 1 })) === 0) await schedules.drop().catch(() => undefined);
}
