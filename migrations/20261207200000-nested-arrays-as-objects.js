// An array inside an array is stored as an object of its items (src/store/stored-form.ts): the validators are
// replaced to accept an object where such an array is declared (a group's nested steps, needs, foreach items,
// artifacts). applyStoreSchema is idempotent (collMod); a server without validators keeps relying on ajv.
import { applyStoreSchema } from '../dist/src/store/mongo/mongo-schema.js';

export async function up(db) {
  await applyStoreSchema(db, (line) => console.warn(`maestro migrate: ${line}`));
}

// Documents stored since keep such arrays as objects, which the older validator would refuse: down leaves the new one.
export async function down() {}
