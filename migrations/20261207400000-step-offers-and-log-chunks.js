// Scale-out: steps' offered_at (ready attempts offered to any runner whose labels fit), runs_on and attempt_result,
// and log_chunks (step logs stored as they are written), with their validators and indexes.
// applyStoreSchema is idempotent (createCollection, collMod, createIndex).
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

// Dropping them would lose logs and open offers; the new fields are optional, so down leaves all in place.
export async function down() {}
