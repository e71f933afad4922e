import { createRequire } from 'node:module';
import { MongoClient } from 'mongodb';
import autocannon from 'autocannon';
import hdr from 'hdr-histogram-js';
import { buildApi } from '../src/api/app.js';
import { TokenAuth } from '../src/api/auth.js';
import { Engine } from '../src/maestro-engine.js';
import type { RunDocument } from '../src/generated/schemas.js';
import { newId } from '../src/domain/ids.js';
import { Collection, toStored } from '../src/store/stored-form.js';
import type { BenchBackend } from './bench-backends.js';
import { dagPlan } from './dag-shapes.js';
import { percentile, round, sampleLatencies, timed } from './measure.js';

const Datastore = createRequire(import.meta.url)('@seald-io/nedb') as new (options: object) => {
  insertAsync(docs: object | object[]): Promise<unknown>;
  ensureIndexAsync(options: object): Promise<void>;
  findAsync(query: object): { sort(s: object): { limit(n: number): Promise<unknown[]> } } & Promise<unknown[]>;
  findOneAsync(query: object): Promise<unknown>;
};

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
 * through the engine, over the HTTP API (autocannon on loopback), and straight through the driver / NeDB.
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
  const rawNedb =
    backend.kind === 'mongodb'
      ? undefined
      : {
          runs: new Datastore({ inMemoryOnly: true }),
          steps: new Datastore({ inMemoryOnly: true }),
          artifacts: new Datastore({ inMemoryOnly: true }),
        };
  const results: QueryResult[] = [];
  try {
    const base = Date.UTC(2026, 0, 1);
    const planId = newId();
    for (let i = 0; i < runsInStore; i += 500) {
      const batch = Array.from({ length: Math.min(500, runsInStore - i) }, (_, j) => seedRun(i + j, base, planId));
      await Promise.all(batch.map((run) => store.createRun(run, [])));
      if (rawNedb)
        await rawNedb.runs.insertAsync(batch.map((run) => ({ ...toStored(Collection.runs, run), _id: run.run_id })));
    }
    const { plan } = await engine.applyPlan(dagPlan('chain', 100));
    const { run: big } = await engine.startRun(plan, { owner: 'team-3' });
    await engine.executeRun(big.run_id);
    if (rawNedb) {
      for (const step of await store.listSteps(big.run_id))
        await rawNedb.steps.insertAsync({ ...toStored(Collection.steps, step), _id: step.step_id });
      await rawNedb.runs.insertAsync({
        ...toStored(Collection.runs, (await store.getRun(big.run_id))!),
        _id: big.run_id,
      });
      await rawNedb.runs.ensureIndexAsync({ fieldName: ['status', 'owner', 'created_at'] });
      await rawNedb.steps.ensureIndexAsync({ fieldName: 'run_id' });
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

    // Raw: the same queries straight through the driver / NeDB.
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
      const raw = rawNedb!;
      const query = { status: 'succeeded', owner: 'team-3', created_at: { $gte: new Date(after) } };
      rawList = await measure('list_runs', 'raw', () =>
        raw.runs.findAsync(query).sort({ created_at: -1, _id: -1 }).limit(51),
      );
      rawGet = await measure('get_run', 'raw', () =>
        Promise.all([
          raw.runs.findOneAsync({ _id: big.run_id }),
          raw.steps.findAsync({ run_id: big.run_id }).sort({ _id: 1 }).limit(1000),
          raw.artifacts.findAsync({ run_id: big.run_id }).sort({ _id: 1 }).limit(1000),
        ]),
      );
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
    await dispose();
  }
}
