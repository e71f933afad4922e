import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';

export interface TestBackend {
  name: string;
  /** True when two store instances see the same data (so cross-instance races can be tested). */
  shared: boolean;
  /** A fresh, empty store; `url` opens another instance on the same data where shared. */
  create(): Promise<{ store: RunStore; url: string; cleanup(): Promise<void> }>;
}

export function mongoTestUrl(): string | undefined {
  const url = inject('mongoUrl');
  return url === '' ? undefined : url;
}

/** A URL to a new, empty database on the test MongoDB server. */
export function freshMongoUrl(base: string): string {
  const database = `maestro_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const parsed = new URL(base.replace(/^mongodb:/, 'http:'));
  parsed.pathname = `/${database}`;
  return parsed.toString().replace(/^http:/, 'mongodb:');
}

export async function dropMongoDatabase(url: string): Promise<void> {
  const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 3000 });
  try {
    await client.db().dropDatabase();
  } finally {
    await client.close();
  }
}

const nedbMemory: TestBackend = {
  name: 'nedb (memory)',
  shared: false,
  async create() {
    const store = await openStore('memory://');
    return { store, url: 'memory://', cleanup: () => store.close() };
  },
};

const nedbFile: TestBackend = {
  name: 'nedb (files)',
  shared: false,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'maestro-nedb-'));
    const url = `nedb://${dir}`;
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

function mongoBackend(base: string): TestBackend {
  return {
    name: 'mongodb (driver over the wire)',
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

/** Every adapter the conformance suite runs on here; MongoDB only when a server was found (global setup says which). */
export function testBackends(): TestBackend[] {
  const url = mongoTestUrl();
  return url ? [nedbMemory, nedbFile, mongoBackend(url)] : [nedbMemory, nedbFile];
}
