import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { openStore } from '../src/store/open.js';
import type { RunStore } from '../src/store/port.js';

export type BackendKind = 'memory' | 'sqlite-file' | 'mongodb';

export interface BenchBackend {
  /**
   * What the results call it: `memory` (SQLite in memory), `sqlite-full` / `sqlite-normal` (a SQLite file with that
   * synchronous setting), or `mongodb on <server>` when several MongoDB-wire servers are named.
   */
  name: string;
  kind: BackendKind;
  /** The MongoDB-wire server's base URL (kind mongodb). */
  mongoUrl?: string;
  /** How a SQLite file store commits (kind sqlite-file): FULL fsyncs each commit, NORMAL only at checkpoints. */
  synchronous?: 'full' | 'normal';
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

/**
 * The MongoDB-wire servers to measure: `MAESTRO_BENCH_MONGO_URLS` (or the tests' `MAESTRO_TEST_MONGO_URLS`) as
 * `name=url,…`, each named `mongodb on <name>`; else one `MAESTRO_BENCH_MONGO_URL` / `MAESTRO_TEST_MONGO_URL`.
 */
export function mongoServersOf(env: NodeJS.ProcessEnv): Array<{ name: string; url: string }> {
  const named = env.MAESTRO_BENCH_MONGO_URLS || env.MAESTRO_TEST_MONGO_URLS;
  if (named)
    return named
      .split(',')
      .filter((entry) => entry.includes('='))
      .map((entry) => {
        const at = entry.indexOf('=');
        return { name: `mongodb on ${entry.slice(0, at)}`, url: entry.slice(at + 1) };
      });
  const single = env.MAESTRO_BENCH_MONGO_URL || env.MAESTRO_TEST_MONGO_URL;
  return single ? [{ name: 'mongodb', url: single }] : [];
}

/** A SQLite file store in a fresh directory, committing with `synchronous`. */
function sqliteFile(synchronous: 'full' | 'normal'): BenchBackend {
  return {
    name: `sqlite-${synchronous}`,
    kind: 'sqlite-file',
    synchronous,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'maestro-bench-'));
      const url = `sqlite://${join(dir, 'maestro.db')}?synchronous=${synchronous}`;
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
  };
}

/**
 * SQLite in memory, SQLite files with synchronous=full (the default: each commit fsynced) and =normal, and each
 * MongoDB-wire server named (see mongoServersOf).
 */
export function benchBackends(mongoServers: Array<{ name: string; url: string }>): BenchBackend[] {
  const backends: BenchBackend[] = [
    {
      name: 'memory',
      kind: 'memory',
      async open() {
        const store = await openStore('sqlite://:memory:');
        return { store, url: 'sqlite://:memory:', dispose: () => store.close() };
      },
    },
    sqliteFile('full'),
    sqliteFile('normal'),
  ];
  for (const server of mongoServers) {
    backends.push({
      name: server.name,
      kind: 'mongodb',
      mongoUrl: server.url,
      async open() {
        const url = mongoDatabaseUrl(server.url, randomName('maestro_bench'));
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
