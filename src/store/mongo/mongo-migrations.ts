import { dirname, join } from 'node:path';
import { MongoClient } from 'mongodb';
import { config as migrateConfig, down, status, up } from 'migrate-mongo';
import { schemasDirectory } from '../../schema/schema-files.js';
import { translateMongoError } from './mongo-errors.js';

export const MIGRATIONS_CHANGELOG = 'changelog';

/** The migrate-mongo configuration of a store URL; migrate-mongo-config.js at the root builds the same one. */
export function migrateMongoConfig(url: string, database: string): Record<string, unknown> {
  return {
    mongodb: { url, databaseName: database, options: {} },
    migrationsDir: join(dirname(schemasDirectory()), 'migrations'),
    changelogCollectionName: MIGRATIONS_CHANGELOG,
    migrationFileExtension: '.js',
    useFileHash: false,
    moduleSystem: 'esm',
  };
}

export interface MigrationStatus {
  fileName: string;
  appliedAt: string;
}

export type MigrationAction = 'up' | 'down' | 'status';

/** Runs migrate-mongo programmatically: `up` applies pending migrations, `down` reverts the last one. */
export async function runMigrations(
  action: MigrationAction,
  url: string,
  database: string,
): Promise<MigrationStatus[] | string[]> {
  migrateConfig.set(migrateMongoConfig(url, database));
  const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 5_000 }).catch((error: unknown) => {
    throw translateMongoError(error);
  });
  try {
    const db = client.db(database);
    if (action === 'status') return await status(db);
    if (action === 'up') return await up(db, client);
    return await down(db, client);
  } finally {
    await client.close();
  }
}

/** True when some migration has not been applied yet. */
export async function hasPendingMigrations(url: string, database: string): Promise<boolean> {
  const items = (await runMigrations('status', url, database)) as MigrationStatus[];
  return items.some((item) => item.appliedAt === 'PENDING');
}
