// migrate-mongo configuration, for running `npx migrate-mongo up|down|status` directly.
// `maestro migrate up|down|status --store <url>` builds the same configuration in code (src/store/mongo/mongo-migrations.ts).
// The store URL comes from MAESTRO_STORE, as everywhere else; the database is the URL's path (default `maestro`).
const url = process.env.MAESTRO_STORE ?? 'mongodb://127.0.0.1:27017/maestro';
const databaseName = new URL(url.replace(/^mongodb(\+srv)?:/, 'http:')).pathname.replace(/^\//, '') || 'maestro';

export default {
  mongodb: { url, databaseName, options: {} },
  migrationsDir: 'migrations',
  changelogCollectionName: 'changelog',
  migrationFileExtension: '.js',
  useFileHash: false,
  moduleSystem: 'esm',
};
