import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { openStore } from '../src/store/open.js';
import type { RunStore } from '../src/store/port.js';

export interface BenchBackend {
  name: 'memory' | 'nedb-file' | 'mongodb';
  /** A fresh, empty store and the URL it was opened with. */
  open: () => Promise<{ store: RunStore; url: string; dispose: () => Promise<void> }>;
}

function randomName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

export function mongoDatabaseUrl(base: string, database: string): string {
  const url = new URL(base.replace(/^mongodb:/, 'http:'));
  url.pathname = `/${database}`;
  return url.toString().replace(/^http:/, 'mongodb:');
}

/** memory, NeDB files, and MongoDB when MAESTRO_BENCH_MONGO_URL (or MAESTRO_TEST_MONGO_URL) names a server. */
export function benchBackends(mongoBase: string | undefined): BenchBackend[] {
  const backends: BenchBackend[] = [
    {
      name: 'memory',
      async open() {
        const store = await openStore('memory://');
        return { store, url: 'memory://', dispose: () => store.close() };
      },
    },
    {
      name: 'nedb-file',
      async open() {
        const dir = mkdtempSync(join(tmpdir(), 'maestro-bench-'));
        const url = `nedb://${dir}`;
        const store = await openStore(url);
        return {
          store,
          url,
          async dispose() {
            await store.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
  if (mongoBase) {
    backends.push({
      name: 'mongodb',
      async open() {
        const url = mongoDatabaseUrl(mongoBase, randomName('maestro_bench'));
        const store = await openStore(url);
        return {
          store,
          url,
          async dispose() {
            await store.close();
            const client = await MongoClient.connect(url);
            await client.db().dropDatabase();
            await client.close();
          },
        };
      },
    });
  }
  return backends;
}
