// Collections with $jsonSchema validators derived from schemas/, and the indexes of src/store/indexes.ts.
// A later schema change ships as a new migration that calls applyStoreSchema again (it is idempotent: collMod).
import { applyStoreSchema, removeStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

export async function down(db) {
  await removeStoreSchema(db);
}
