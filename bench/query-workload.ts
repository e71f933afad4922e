import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import autocannon from 'autocannon';
import hdr from 'hdr-histogram-js';
import { buildApi } from '../src/api/app.js';
import { TokenAuth } from '../src/api/auth.js';
import { Engine } from '../src/maestro-engine.js';
import type { RunDocument } from '../src/generated/schemas.js';
import { newId } from '../src/domain/ids.js';
import type { BenchBackend } from './bench-backends.js';
import { dagPlan } from './dag-shapes.js';
import { percentile, round, sampleLatencies, timed } from './measure.js';

/**
 * The raw side of an embedded store: the runs, steps and artifacts as the SQLite store keeps them (one JSON document
 * per row, expression indexes on the fields queried), in one SQLite database in memory, queried with plain SQL.
 */
class RawSqlite {
  private readonly db = new Database(':memory:');
  private readonly insertRun;
  private readonly insertStep;

  constructor() {
    const field = (name: string) => `json_extract(doc, '$.${name}')`;
    for (const table of ['runs', 'steps', 'artifacts'])
      this.db.exec(`CREATE TABLE ${table} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL) STRICT`);
    this.db.exec(
      `CREATE INDEX runs_status_owner_created ON runs (${field('status')}, ${field('owner')}, ${field('created_at')} DESC, id DESC)`,
    );
    this.db.exec(`CREATE INDEX steps_run ON steps (${field('run_id')}, id)`);
    this.db.exec(`CREATE INDEX artifacts_run ON artifacts (${field('run_id')}, id)`);
    this.insertRun = this.db.prepare('INSERT INTO runs (id, doc) VALUES (?, ?)');
    this.insertStep = this.db.prepare('INSERT INTO steps (id, doc) VALUES (?, ?)');
  }

  addRuns(runs: RunDocument[]): void {
    this.db.transaction(() => {
      for (const run of runs) this.insertRun.run(run.run_id, JSON.stringify(run));
    })();
  }

  addSteps(steps: Array<{ step_id: string }>): void {
    this.db.transaction(() => {
      for (const step of steps) this.insertStep.run(step.step_id, JSON.stringify(step));
    })();
  }

  /** The first page (51: one more tells whether there is a next) of runs by status and owner after a date. */
  listRuns(): (status: string, owner: string, after: string) => unknown[] {
    const statement = this.db.prepare(
      `SELECT id, doc FROM runs WHERE json_extract(doc, '$.status') = ? AND json_extract(doc, '$.owner') = ?
         AND json_extract(doc, '$.created_at') >= ? ORDER BY json_extract(doc, '$.created_at') DESC, id DESC LIMIT 51`,
    );
    return (status, owner, after) =>
      (statement.all(status, owner, after) as Array<{ doc: string }>).map((row) => JSON.parse(row.doc) as unknown);
  }

  /** A run with its steps and artifacts. */
  getRun(): (runId: string) => unknown[] {
    const run = this.db.prepare('SELECT doc FROM runs WHERE id = ?');
    const steps = this.db.prepare(
      `SELECT doc FROM steps WHERE json_extract(doc, '$.run_id') = ? ORDER BY id LIMIT 1000`,
    );
    const artifacts = this.db.prepare(
      `SELECT doc FROM artifacts WHERE json_extract(doc, '$.run_id') = ? ORDER BY id LIMIT 1000`,
    );
    const parse = (rows: unknown[]) => (rows as Array<{ doc: string }>).map((row) => JSON.parse(row.doc) as unknown);
    return (runId) => [
      JSON.parse((run.get(runId) as { doc: string }).doc) as unknown,
      parse(steps.all(runId)),
      parse(artifacts.all(runId)),
    ];
  }

  close(): void {
    this.db.close();
  }
}

export interface QueryResult {
  workload: 'query';
  query: 'list_runs' | 'get_run';
  via: 'engine' | 'api' | 'raw';
  backend: string;
  runs_in_store: number;
  ops: number;
  p50: number;
  p95: number;
  api_to_raw?: number;
  engine_to_raw?: number;
  peak_rss_mb: number;
  errors?: number;
}

const OWNERS = ['team-0', 'team-1', 'team-2', 'team-3', 'team-4'];
const STATUSES = ['succeeded', 'failed', 'cancelled', 'succeeded', 'succeeded'] as const;
const TOKEN = 'bench-admin-token-0123456789';

function seedRun(i: number, base: number, planId: string): RunDocument {
  const runId = newId();
  return {
    run_id: runId,
    plan_id: planId,
    plan_version: 'a'.repeat(64),
    plan_name: 'seeded',
    status: STATUSES[i % STATUSES.length]!,
    created_at: new Date(base + i * 1000).toISOString(),
    owner: OWNERS[i % OWNERS.length]!,
    inputs: { i },
    budget: {},
    usage: { cost: 0 },
    root_run_id: runId,
    provenance: { intelgraph_entity_ids: [], claim_ledger_manifest_ids: [], claim_ledger_manifest_paths: [] },
    labels: {},
  };
}

/** Apdex-free, plain: autocannon for a bounded time, latencies into our own histogram so p95 is exact to 1 ms. */
async function loadApi(
  url: string,
  seconds: number,
): Promise<{ p50: number; p95: number; requests: number; errors: number }> {
  const latencies = hdr.build({
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 10_000,
    numberOfSignificantValueDigits: 3,
  });
  const result = await autocannon({
    url,
    connections: 4,
    duration: seconds,
    headers: { authorization: `Bearer ${TOKEN}` },
    histograms: { latencies },
  });
  return {
    p50: latencies.getValueAtPercentile(50),
    p95: latencies.getValueAtPercentile(95),
    requests: result.requests.total,
    errors: result.errors + result.non2xx,
  };
}

/**
 * list_runs (status + owner + date filters) and get_run (a 100-step run) over a store holding `runsInStore` runs:
 * through the engine, over the HTTP API (autocannon on loopback), and straight through the driver / SQLite.
 */
export async function runQueries(
  backend: BenchBackend,
  runsInStore: number,
  samples: number,
  apiSeconds: number,
  mongoUrlOf: (url: string) => string | undefined,
): Promise<QueryResult[]> {
  const { store, url, dispose } = await backend.open();
  const engine = new Engine({ store, concurrency: 32, pollMs: 5 });
  const rawSqlite = backend.kind === 'mongodb' ? undefined : new RawSqlite();
  const results: QueryResult[] = [];
  try {
    const base = Date.UTC(2026, 0, 1);
    const planId = newId();
    for (let i = 0; i < runsInStore; i += 500) {
      const batch = Array.from({ length: Math.min(500, runsInStore - i) }, (_, j) => seedRun(i + j, base, planId));
      await Promise.all(batch.map((run) => store.createRun(run, [])));
      rawSqlite?.addRuns(batch);
    }
    const { plan } = await engine.applyPlan(dagPlan('chain', 100));
    const { run: big } = await engine.startRun(plan, { owner: 'team-3' });
    await engine.executeRun(big.run_id);
    if (rawSqlite) {
      rawSqlite.addSteps(await store.listSteps(big.run_id));
      rawSqlite.addRuns([(await store.getRun(big.run_id))!]);
    }
    const after = new Date(base + (runsInStore / 2) * 1000).toISOString();
    const filter = { status: 'succeeded' as const, owner: 'team-3', created_after: after };

    const record = (
      query: QueryResult['query'],
      via: QueryResult['via'],
      latencies: { p50: number; p95: number; ops: number; errors?: number },
      peak: number,
    ): QueryResult => {
      const entry: QueryResult = {
        workload: 'query',
        query,
        via,
        backend: backend.name,
        runs_in_store: runsInStore,
        ops: latencies.ops,
        p50: round(latencies.p50),
        p95: round(latencies.p95),
        peak_rss_mb: peak,
        ...(latencies.errors !== undefined ? { errors: latencies.errors } : {}),
      };
      results.push(entry);
      return entry;
    };
    const measure = async (query: QueryResult['query'], via: QueryResult['via'], op: () => Promise<unknown>) => {
      const { result, peakRssMb } = await timed(() => sampleLatencies(samples, op));
      return record(query, via, { p50: percentile(result, 50), p95: percentile(result, 95), ops: samples }, peakRssMb);
    };

    // Raw: the same queries straight through the driver / SQLite.
    let rawList: QueryResult;
    let rawGet: QueryResult;
    const mongoUrl = mongoUrlOf(url);
    if (mongoUrl) {
      const client = await MongoClient.connect(mongoUrl);
      const db = client.db();
      const query = { status: 'succeeded', owner: 'team-3', created_at: { $gte: new Date(after) } };
      rawList = await measure('list_runs', 'raw', () =>
        db.collection('runs').find(query).sort({ created_at: -1, _id: -1 }).limit(51).toArray(),
      );
      rawGet = await measure('get_run', 'raw', () =>
        Promise.all([
          db.collection('runs').findOne({ _id: big.run_id as never }),
          db.collection('steps').find({ run_id: big.run_id }).sort({ _id: 1 }).toArray(),
          db.collection('artifacts').find({ run_id: big.run_id }).toArray(),
        ]),
      );
      await client.close();
    } else {
      const list = rawSqlite!.listRuns();
      const get = rawSqlite!.getRun();
      rawList = await measure('list_runs', 'raw', async () => list('succeeded', 'team-3', after));
      rawGet = await measure('get_run', 'raw', async () => get(big.run_id));
    }

    const engineList = await measure('list_runs', 'engine', () => store.listRuns(filter, { limit: 50 }));
    engineList.engine_to_raw = round(engineList.p50 / rawList.p50, 2);
    const engineGet = await measure('get_run', 'engine', () => engine.getRunDetail(big.run_id));
    engineGet.engine_to_raw = round(engineGet.p50 / rawGet.p50, 2);

    const app = await buildApi({ engine, store, auth: new TokenAuth([{ token: TOKEN, owner: 'ops', role: 'admin' }]) });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      for (const [query, path, raw] of [
        [
          'list_runs',
          `/v1/runs?status=succeeded&owner=team-3&created_after=${encodeURIComponent(after)}&limit=50`,
          rawList,
        ],
        ['get_run', `/v1/runs/${big.run_id}`, rawGet],
      ] as const) {
        const { result, peakRssMb } = await timed(() => loadApi(`${address}${path}`, apiSeconds));
        const entry = record(
          query,
          'api',
          { p50: result.p50, p95: result.p95, ops: result.requests, errors: result.errors },
          peakRssMb,
        );
        entry.api_to_raw = round(Math.max(result.p50, 0.001) / raw.p50, 2);
      }
    } finally {
      await app.close();
    }
    return results;
  } finally {
    engine.close();
    rawSqlite?.close();
    await dispose();
  }
}
