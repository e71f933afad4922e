// Artifacts travel between machines through the store: a step's declared file artifact records the blob that holds
// its bytes (blob_id). The artifacts validator is applied again so that MongoDB accepts the field.
// applyStoreSchema is idempotent (createCollection, collMod, createIndex).
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

// The older validator refuses artifacts that record blob_id, and removing the field would lose where their bytes are:
// down leaves the validator as it is.
export async function down() {}
