import type { ReadPreferenceMode, W } from 'mongodb';

/** How the MongoDB adapter connects; write concern and read preference are explicit, never driver defaults. */
export interface MongoRunStoreConfig {
  url: string;
  /** Database name; default: the URL's path, else `maestro`. */
  database: string;
  writeConcern: { w: W; journal: boolean; wtimeoutMS: number };
  readPreference: ReadPreferenceMode;
  /** Kept below the lease length so a store call never outlives the lease it writes under. */
  serverSelectionTimeoutMS: number;
  socketTimeoutMS: number;
  /** Apply pending migrate-mongo migrations when the store opens (handy locally; production runs `maestro migrate up`). */
  autoMigrate: boolean;
}

export const defaultMongoConfig = Object.freeze({
  writeConcern: Object.freeze({ w: 'majority', journal: true, wtimeoutMS: 10_000 }),
  readPreference: 'primary',
  serverSelectionTimeoutMS: 5_000,
  socketTimeoutMS: 10_000,
  autoMigrate: true,
});
