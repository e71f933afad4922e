import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { beforeEach, inject } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';
import type { MongoTestServer } from './global-setup.js';

export interface TestBackend {
  name: string;
  /** False for the MongoDB entry when no server was found (outside CI): its tests are reported as skipped. */
  available: boolean;
  /** True when two store instances see the same data (so cross-instance races can be tested). */
  shared: boolean;
  /** A fresh, empty store; `url` opens another instance on the same data where shared. */
  create: () => Promise<{ store: RunStore; url: string; cleanup: () => Promise<void> }>;
}

/** The MongoDB-wire servers the global setup found (FerretDB and mongo-java-server in CI), by name. */
export function mongoTestServers(): MongoTestServer[] {
  return inject('mongoServers');
}

/**
 * A test that cannot run here is reported as skipped, never as passed; in CI it runs anyway and fails
 * on what is missing, so a broken CI set-up cannot pass as a skip.
 */
export function unavailable(available: boolean): boolean {
  return !available && process.env.CI !== 'true';
}

/** One store per MongoDB server, plus a `missing` entry when there is none, for `describe.each` + `skipIf`. */
export function mongoStoreEntries(): Array<{ name: string; base: string | undefined }> {
  const servers = mongoTestServers();
  return servers.length > 0
    ? servers.map((s) => ({ name: `mongodb on ${s.name}`, base: s.url }))
    : [{ name: 'mongodb (no server)', base: undefined }];
}

/** The base URL of a MongoDB entry; throws (in CI, where such tests are not skipped) when there is none. */
export function requireBase(base: string | undefined): string {
  if (!base) throw new Error('no MongoDB-wire server: set MAESTRO_TEST_MONGO_URLS (bash .ci/run starts two)');
  return base;
}

/** A URL to a new, empty database on the test MongoDB server. */
export function freshMongoUrl(base: string): string {
  const database = `maestro_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const parsed = new URL(base.replace(/^mongodb:/, 'http:'));
  parsed.pathname = `/${database}`;
  return parsed.toString().replace(/^http:/, 'mongodb:');
}

/**
 * The stores several processes share in a test: a SQLite file in the test's directory (`shared.db`) and a fresh
 * database on each MongoDB-wire server (unavailable, hence skipped, where none is given).
 */
export function sharedStores(): Array<{ name: string; available: boolean; url: (dir: string) => string }> {
  return [
    { name: 'sqlite (file)', available: true, url: (dir) => `sqlite://${join(dir, 'shared.db')}` },
    ...mongoStoreEntries().map(({ name, base }) => ({
      name,
      available: base !== undefined,
      url: () => freshMongoUrl(requireBase(base)),
    })),
  ];
}

export async function dropMongoDatabase(url: string): Promise<void> {
  const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 3000 });
  try {
    await client.db().dropDatabase();
  } finally {
    await client.close();
  }
}

const sqliteMemory: TestBackend = {
  name: 'sqlite (memory)',
  available: true,
  shared: false,
  async create() {
    const store = await openStore('memory://');
    return { store, url: 'memory://', cleanup: () => store.close() };
  },
};

/** Shared: a second instance opens the same file, as a second process would. */
const sqliteFile: TestBackend = {
  name: 'sqlite (file)',
  available: true,
  shared: true,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'maestro-sqlite-'));
    const url = `sqlite://${join(dir, 'maestro.db')}`;
    const store = await openStore(url);
    return {
      store,
      url,
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function mongoBackend(server: MongoTestServer): TestBackend {
  const base = server.url;
  return {
    name: `mongodb on ${server.name}`,
    available: true,
    shared: true,
    async create() {
      const url = freshMongoUrl(base);
      const store = await openStore(url);
      return {
        store,
        url,
        async cleanup() {
          await store.close();
          await dropMongoDatabase(url);
        },
      };
    },
  };
}

/**
 * Every adapter the conformance suite runs on here: SQLite in memory and in a file, and MongoDB on each server the
 * global setup found.
 */
export function testBackends(): TestBackend[] {
  const servers = mongoTestServers();
  return [sqliteMemory, sqliteFile, ...(servers.length > 0 ? servers.map(mongoBackend) : [missingMongo])];
}

const missingMongo: TestBackend = {
  name: 'mongodb (no server found)',
  available: false,
  shared: true,
  create() {
    return Promise.reject(new Error('no MongoDB-wire server: set MAESTRO_TEST_MONGO_URLS (bash .ci/run starts two)'));
  },
};

/** Registers, first in a `describe.each(testBackends())` body, the hook that reports its tests skipped when the backend is missing. */
export function skipUnavailable(backend: TestBackend): void {
  beforeEach((context) => {
    if (!backend.available) context.skip();
  });
}
