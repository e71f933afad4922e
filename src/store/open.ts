import { isAbsolute, resolve } from 'node:path';
import { MaestroError } from '../domain/errors.js';
import { DocumentRunStore } from './document-run-store.js';
import { defaultMongoConfig, type MongoRunStoreConfig } from './mongo/mongo-config.js';
import { MongoDriver } from './mongo/mongo-driver.js';
import {
  hasPendingMigrations,
  runMigrations,
  type MigrationAction,
  type MigrationStatus,
} from './mongo/mongo-migrations.js';
import { defaultSqliteConfig, type SqliteRunStoreConfig } from './sqlite/sqlite-config.js';
import { SqliteDriver } from './sqlite/sqlite-driver.js';
import { noTelemetry, type Telemetry } from '../domain/telemetry.js';
import { importNedbStore, oldStoreNotice, readNedbStore, type ImportedCollection } from './import-nedb-store.js';
import { instrumentedStore } from './instrumented-store.js';
import type { RunStore } from './port.js';
import { retryOnOutage, type OutagePolicy } from './retry-on-outage.js';

export type { MigrationAction, MigrationStatus } from './mongo/mongo-migrations.js';
export type { ImportedCollection } from './import-nedb-store.js';

export const DEFAULT_STORE_URL = 'sqlite://.maestro/maestro.db';

export type StoreConfig = ({ kind: 'sqlite' } & SqliteRunStoreConfig) | ({ kind: 'mongodb' } & MongoRunStoreConfig);

/**
 * A store is chosen by one URL: `mongodb://…` / `mongodb+srv://…`, `sqlite://file` (relative to `cwd`, or absolute
 * as `sqlite:///abs/file`), or `memory://` (SQLite in memory; `sqlite://:memory:` is the same).
 */
export function parseStoreUrl(url: string, cwd = process.cwd()): StoreConfig {
  if (url === 'memory://' || url === 'memory:')
    return { kind: 'sqlite', ...defaultSqliteConfig, inMemory: true, file: '' };
  if (url.startsWith('sqlite://')) return parseSqliteUrl(url, cwd);
  if (url.startsWith('nedb://'))
    throw invalidUrl(
      url,
      `NeDB stores (nedb://) are no longer opened; copy one into the SQLite store with: maestro store import ${url}`,
    );
  if (url.startsWith('mongodb://') || url.startsWith('mongodb+srv://')) {
    let parsed: URL;
    try {
      parsed = new URL(url.replace(/^mongodb(\+srv)?:/, 'http:'));
    } catch {
      throw invalidUrl(url, 'not a valid MongoDB connection string');
    }
    const query = parsed.searchParams;
    const w = query.get('w');
    return {
      kind: 'mongodb',
      ...defaultMongoConfig,
      url,
      database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'maestro',
      writeConcern: {
        ...defaultMongoConfig.writeConcern,
        ...(w === null ? {} : { w: w === 'majority' ? ('majority' as const) : Number(w) }),
        ...(query.get('journal') === null ? {} : { journal: query.get('journal') === 'true' }),
      },
      readPreference:
        (query.get('readPreference') as MongoRunStoreConfig['readPreference'] | null) ??
        defaultMongoConfig.readPreference,
      serverSelectionTimeoutMS:
        positiveMs(query.get('serverSelectionTimeoutMS'), 'serverSelectionTimeoutMS') ??
        defaultMongoConfig.serverSelectionTimeoutMS,
      socketTimeoutMS:
        positiveMs(query.get('socketTimeoutMS'), 'socketTimeoutMS') ?? defaultMongoConfig.socketTimeoutMS,
      autoMigrate: query.get('autoMigrate') !== 'false',
    };
  }
  throw invalidUrl(url, 'expected sqlite://file, memory://, mongodb://… or mongodb+srv://…');
}

/** `sqlite://file[?synchronous=full|normal&busyTimeoutMs=…]`: options a user can misspell are refused, not ignored. */
function parseSqliteUrl(url: string, cwd: string): StoreConfig {
  const [path = '', query = ''] = url.slice('sqlite://'.length).split('?', 2);
  if (path === '') throw invalidUrl(url, 'sqlite:// needs a database file, e.g. sqlite://.maestro/maestro.db');
  const options = new URLSearchParams(query);
  const unknown = [...options.keys()].find((name) => name !== 'synchronous' && name !== 'busyTimeoutMs');
  if (unknown !== undefined)
    throw invalidUrl(url, `unknown option ${unknown}: sqlite:// takes synchronous=full|normal and busyTimeoutMs`);
  const synchronous = options.get('synchronous')?.toLowerCase() ?? defaultSqliteConfig.synchronous;
  if (synchronous !== 'full' && synchronous !== 'normal')
    throw new MaestroError('STORE_URL_INVALID', 'store URL option synchronous must be full or normal', {
      details: { path: 'store.synchronous', expected: 'full or normal', got: options.get('synchronous') },
    });
  const inMemory = path === ':memory:';
  return {
    kind: 'sqlite',
    file: inMemory ? '' : isAbsolute(path) ? path : resolve(cwd, path),
    inMemory,
    synchronous,
    busyTimeoutMs: positiveMs(options.get('busyTimeoutMs'), 'busyTimeoutMs') ?? defaultSqliteConfig.busyTimeoutMs,
  };
}

function positiveMs(value: string | null, name: string): number | undefined {
  if (value === null) return undefined;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0)
    throw new MaestroError('STORE_URL_INVALID', `store URL option ${name} must be a positive whole number of ms`, {
      details: { path: `store.${name}`, got: value },
    });
  return ms;
}

function invalidUrl(url: string, why: string): MaestroError {
  // The URL may carry a password: name the scheme only.
  const scheme = url.split(':')[0] ?? '';
  return new MaestroError('STORE_URL_INVALID', `store URL (${scheme}:…) is invalid: ${why}`, {
    details: { path: 'store', expected: why },
  });
}

export interface OpenStoreOptions {
  cwd?: string;
  log?: (line: string) => void;
  /** Wait out store outages up to a limit (the CLI and servers do); off by default. */
  outage?: OutagePolicy;
  /** Time every operation and count outage retries into these metrics. */
  telemetry?: Telemetry;
  /** Record every operation as a span under the active one (tracing is on). */
  traced?: boolean;
  /** Where a notice for the user goes (an old store beside a new one); stderr unless given. */
  notice?: (line: string) => void;
}

/** Opens the store a URL names; a MongoDB store is migrated first unless the URL says `autoMigrate=false`. */
export async function openStore(url: string = DEFAULT_STORE_URL, options: OpenStoreOptions = {}): Promise<RunStore> {
  const config = parseStoreUrl(url, options.cwd);
  let store: RunStore;
  if (config.kind === 'sqlite') {
    if (!config.inMemory) {
      const notice = oldStoreNotice(config.file);
      if (notice) (options.notice ?? ((line) => process.stderr.write(`maestro: ${line}\n`)))(notice);
    }
    // Readers need nothing different: WAL lets them read beside writers in other processes.
    store = new DocumentRunStore(await SqliteDriver.open(config));
  } else {
    if (config.autoMigrate && (await hasPendingMigrations(config.url, config.database))) {
      const applied = await runMigrations('up', config.url, config.database);
      if (applied.length > 0) options.log?.(`applied migrations: ${(applied as string[]).join(', ')}`);
    }
    store = new DocumentRunStore(await MongoDriver.open(config));
  }
  const { telemetry, outage } = options;
  // Timed inside the retries: each try is one store call; the retries are counted apart.
  if (telemetry || options.traced) store = instrumentedStore(store, telemetry ?? noTelemetry, options.traced ?? false);
  if (!outage) return store;
  return retryOnOutage(store, {
    ...outage,
    onRetry: (error, attempt, delayMs, operation) => {
      telemetry?.storeRetry(operation);
      outage.onRetry?.(error, attempt, delayMs, operation);
    },
  });
}

/** Applies (up), reverts the last (down) or lists (status) a store's migrations; only MongoDB stores have them. */
export async function migrateStore(
  url: string,
  action: MigrationAction,
): Promise<{ action: 'status'; migrations: MigrationStatus[] } | { action: 'up' | 'down'; names: string[] }> {
  const config = parseStoreUrl(url);
  if (config.kind !== 'mongodb') {
    throw new MaestroError('STORE_URL_INVALID', 'migrations apply to MongoDB stores; the embedded store needs none', {
      details: { path: '--store', expected: 'a mongodb:// URL' },
    });
  }
  const result = await runMigrations(action, config.url, config.database);
  return action === 'status'
    ? { action, migrations: result as MigrationStatus[] }
    : { action, names: result as string[] };
}

/**
 * `maestro store import <old-url>`: copies the NeDB store of an earlier version (`nedb://dir`, or the directory)
 * into the SQLite store `url` names, all or nothing, verified by counts per collection.
 */
export async function importOldStore(
  oldUrl: string,
  url: string,
  options: { merge: boolean; cwd?: string },
): Promise<{ from: string; into: string; collections: ImportedCollection[] }> {
  const cwd = options.cwd ?? process.cwd();
  const path = oldUrl.startsWith('nedb://') ? oldUrl.slice('nedb://'.length) : oldUrl;
  if (path === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(path))
    throw new MaestroError('INPUT_INVALID', 'the store to import is a NeDB store: nedb://dir or the directory', {
      details: { path: 'old-url', expected: 'nedb://.maestro/store', got: oldUrl.split(':')[0] },
    });
  const config = parseStoreUrl(url, cwd);
  if (config.kind !== 'sqlite' || config.inMemory)
    throw new MaestroError(
      'STORE_URL_INVALID',
      'maestro store import copies into a SQLite store file (sqlite://file)',
      {
        details: { path: '--store', expected: 'sqlite://file' },
      },
    );
  const directory = isAbsolute(path) ? path : resolve(cwd, path);
  // Read (and refused if unreadable) before the SQLite file is created.
  const contents = readNedbStore(directory);
  const driver = await SqliteDriver.open(config);
  try {
    const collections = await importNedbStore(contents, driver, { merge: options.merge });
    return { from: directory, into: config.file, collections };
  } finally {
    await driver.close();
  }
}
