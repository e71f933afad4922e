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
import { defaultNedbConfig, type NedbRunStoreConfig } from './nedb/nedb-config.js';
import { NedbDriver } from './nedb/nedb-driver.js';
import { NedbSnapshotDriver } from './nedb/nedb-snapshot.js';
import { defaultSqliteConfig, type SqliteRunStoreConfig } from './sqlite/sqlite-config.js';
import { SqliteDriver } from './sqlite/sqlite-driver.js';
import { noTelemetry, type Telemetry } from '../domain/telemetry.js';
import { instrumentedStore } from './instrumented-store.js';
import type { RunStore } from './port.js';
import { retryOnOutage, type OutagePolicy } from './retry-on-outage.js';

export type { MigrationAction, MigrationStatus } from './mongo/mongo-migrations.js';

export const DEFAULT_STORE_URL = 'nedb://.maestro/store';

export type StoreConfig =
  | ({ kind: 'nedb' } & NedbRunStoreConfig)
  | ({ kind: 'sqlite' } & SqliteRunStoreConfig)
  | ({ kind: 'mongodb' } & MongoRunStoreConfig);

/**
 * A store is chosen by one URL: `mongodb://…` / `mongodb+srv://…`, `sqlite://file` (relative to `cwd`, or absolute
 * as `sqlite:///abs/file`; `sqlite://:memory:` in memory), `nedb://path` (the same way), or `memory://`.
 */
export function parseStoreUrl(url: string, cwd = process.cwd()): StoreConfig {
  if (url === 'memory://' || url === 'memory:') return { kind: 'nedb', ...defaultNedbConfig, inMemory: true };
  if (url.startsWith('sqlite://')) return parseSqliteUrl(url, cwd);
  if (url.startsWith('nedb://')) {
    const path = url.slice('nedb://'.length);
    if (path === '') throw invalidUrl(url, 'nedb:// needs a directory, e.g. nedb://.maestro/store');
    return { kind: 'nedb', ...defaultNedbConfig, directory: isAbsolute(path) ? path : resolve(cwd, path) };
  }
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
  throw invalidUrl(url, 'expected mongodb://…, mongodb+srv://…, sqlite://file, nedb://path or memory://');
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
  /**
   * Only reads follow: an embedded store in files is read as a snapshot, without its lock, so this works while
   * another process runs on it (a MongoDB store needs nothing different).
   */
  readOnly?: boolean;
}

/** Opens the store a URL names; a MongoDB store is migrated first unless the URL says `autoMigrate=false`. */
export async function openStore(url: string = DEFAULT_STORE_URL, options: OpenStoreOptions = {}): Promise<RunStore> {
  const config = parseStoreUrl(url, options.cwd);
  let store: RunStore;
  if (config.kind === 'nedb') {
    const snapshot = options.readOnly === true && !config.inMemory;
    store = new DocumentRunStore(snapshot ? new NedbSnapshotDriver(config) : await NedbDriver.open(config));
  } else if (config.kind === 'sqlite') {
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
