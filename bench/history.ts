/**
 * `npm run bench:history [-- --sizes=0,10000,100000 --reps=5]`: what a user's history costs every command. For each
 * size, a SQLite store file (the default store, `sqlite://.maestro/maestro.db` in a fresh directory) holding that
 * many ended runs of a 3-step plan, each with its steps and events; then the wall time of the spawned commands
 * `maestro-run plans/hello.json` and `maestro runs list --limit 20` (medians of --reps, the sizes interleaved so a
 * slower minute of a shared machine falls on all alike), and the file's size. Written to bench/results/history.json.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventDocument, PlanDocument, RunDocument, StepDocument } from '../src/generated/schemas.js';
import { newId } from '../src/domain/ids.js';
import { Engine } from '../src/maestro-engine.js';
import { openStore } from '../src/store/open.js';
import { machineInfo, percentile, round, writeReport } from './measure.js';

const REPO = join(import.meta.dirname, '..', '..');
const STORE_URL = 'sqlite://.maestro/maestro.db';
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const sizes = (arg('sizes') ?? '0,10000,100000').split(',').map(Number);
const reps = Number(arg('reps') ?? 5);
const outFile = arg('out') ?? join(REPO, 'bench', 'results', 'history.json');
const keep = process.argv.includes('--keep');

/** The plan the history is made of: three steps, as a small real pipeline. */
const HISTORY_PLAN = {
  name: 'history',
  owner: 'local',
  steps: [
    { id: 'fetch', uses: 'noop', with: { outputs: { rows: 3 } } },
    { id: 'transform', uses: 'noop', needs: ['fetch'], with: { outputs: { ok: true } } },
    { id: 'load', uses: 'noop', needs: ['transform'] },
  ],
};

interface Template {
  plan: PlanDocument;
  /** The run, its steps and its events, as one JSON text to copy with new ids and times. */
  json: string;
  ids: string[];
  startedMs: number;
}

/** One real run of the plan on SQLite in memory: the documents every copy in the history is made from. */
async function template(): Promise<Template> {
  const store = await openStore('sqlite://:memory:');
  const engine = new Engine({ store });
  try {
    const { plan } = await engine.applyPlan(HISTORY_PLAN);
    const { run } = await engine.startRun(plan);
    await engine.executeRun(run.run_id);
    const ended = (await store.getRun(run.run_id))!;
    if (ended.status !== 'succeeded') throw new Error(`template run ended ${ended.status}`);
    const steps = await store.listSteps(run.run_id);
    const events = await store.listEvents(run.run_id, 0, 1000);
    const ids = [run.run_id, ...steps.map((s) => s.step_id), ...events.map((e) => e.event_id)];
    return {
      plan,
      json: JSON.stringify({ run: ended, steps, events }),
      ids,
      startedMs: Date.parse(ended.created_at),
    };
  } finally {
    engine.close();
    await store.close();
  }
}

const ISO_DATE = /"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"/g;

/** The template with fresh ids, its times moved to `atMs`. */
function copyOf(t: Template, atMs: number): { run: RunDocument; steps: StepDocument[]; events: EventDocument[] } {
  let json = t.json;
  for (const id of t.ids) json = json.replaceAll(id, newId());
  json = json.replace(
    ISO_DATE,
    (_, iso: string) => `"${new Date(Date.parse(iso) - t.startedMs + atMs).toISOString()}"`,
  );
  return JSON.parse(json) as { run: RunDocument; steps: StepDocument[]; events: EventDocument[] };
}

/**
 * A store in `dir` with `size` ended runs, written through the store port (validated as any write): the run with
 * its steps in one transaction, its events in another. Filled with synchronous=normal (the fill is not what is
 * measured); the commands then open it with the default, FULL.
 */
async function fill(dir: string, size: number, t: Template): Promise<{ ms: number }> {
  const started = performance.now();
  const store = await openStore(`${STORE_URL}?synchronous=normal`, { cwd: dir });
  try {
    await store.savePlan(t.plan);
    // A second apart, ending a while ago, so the commands' new runs are the newest.
    const base = Date.now() - (size + 60) * 1000;
    for (let i = 0; i < size; i += 1) {
      const { run, steps, events } = copyOf(t, base + i * 1000);
      await store.createRun(run, steps);
      await store.appendEvents(events.map(({ seq: _seq, event_id, ...event }) => ({ event, eventId: event_id })));
      if (i > 0 && i % 10_000 === 0)
        console.error(`bench:history: ${i} of ${size} runs (${round((performance.now() - started) / 1000, 1)} s)`);
    }
  } finally {
    await store.close();
  }
  return { ms: performance.now() - started };
}

function fileBytes(dir: string): number {
  const db = join(dir, '.maestro', 'maestro.db');
  return ['', '-wal', '-shm'].reduce(
    (sum, suffix) => sum + (existsSync(db + suffix) ? statSync(db + suffix).size : 0),
    0,
  );
}

/** Wall time of one spawned command, from spawn to exit, in ms; a failing command stops the bench. */
function wallMs(dir: string, bin: string, args: string[]): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, [join(REPO, 'bin', bin), ...args], {
    cwd: dir,
    env: { ...process.env, MAESTRO_STORE: STORE_URL, NO_COLOR: '1' },
    encoding: 'utf8',
  });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const started = Date.now();
const t = await template();
const stores: Array<{ size: number; dir: string; fillMs: number; bytes: number }> = [];
for (const size of sizes) {
  const dir = mkdtempSync(join(tmpdir(), `maestro-history-${size}-`));
  mkdirSync(join(dir, 'plans'));
  copyFileSync(join(REPO, 'plans', 'hello.json'), join(dir, 'plans', 'hello.json'));
  const { ms } = await fill(dir, size, t);
  stores.push({ size, dir, fillMs: ms, bytes: fileBytes(dir) });
  console.error(
    `bench:history: ${size} runs filled in ${round(ms / 1000, 1)} s, ${round(fileBytes(dir) / 1048576, 1)} MB`,
  );
}

const commands = {
  maestro_run: ['maestro-run.js', ['plans/hello.json']],
  runs_list: ['maestro.js', ['runs', 'list', '--limit', '20']],
} as const;
const samples = new Map(stores.map((s) => [s.size, { maestro_run: [] as number[], runs_list: [] as number[] }]));
// One unmeasured round (the file cache, Node's compile cache), then the sizes interleaved.
for (let rep = -1; rep < reps; rep += 1)
  for (const store of stores)
    for (const [name, [bin, args]] of Object.entries(commands) as Array<
      [keyof typeof commands, readonly [string, readonly string[]]]
    >) {
      const ms = wallMs(store.dir, bin, [...args]);
      if (rep >= 0) samples.get(store.size)![name].push(ms);
    }

const results: object[] = [];
const empty = samples.get(Math.min(...sizes))!;
for (const store of stores) {
  const s = samples.get(store.size)!;
  const result = {
    workload: 'history',
    backend: 'sqlite-file',
    runs_in_store: store.size,
    ops: reps,
    maestro_run_p50_ms: round(percentile(s.maestro_run, 50), 1),
    maestro_run_p95_ms: round(percentile(s.maestro_run, 95), 1),
    runs_list_p50_ms: round(percentile(s.runs_list, 50), 1),
    runs_list_p95_ms: round(percentile(s.runs_list, 95), 1),
    // Against the smallest store measured (the empty one): the goal is within 1.3x at 100,000 runs.
    maestro_run_to_empty: round(percentile(s.maestro_run, 50) / percentile(empty.maestro_run, 50), 2),
    runs_list_to_empty: round(percentile(s.runs_list, 50) / percentile(empty.runs_list, 50), 2),
    file_mb: round(store.bytes / 1048576, 1),
    fill_s: round(store.fillMs / 1000, 1),
    fill_ms_per_run: store.size > 0 ? round(store.fillMs / store.size, 3) : 0,
    p50: round(percentile(s.maestro_run, 50), 1),
    p95: round(percentile(s.maestro_run, 95), 1),
    peak_rss_mb: round(process.memoryUsage().rss / 1048576, 1),
    samples_ms: s,
  };
  results.push(result);
  console.log(JSON.stringify(result));
  if (!keep) rmSync(store.dir, { recursive: true, force: true });
}

writeReport(
  outFile,
  {
    date: new Date().toISOString(),
    machine: machineInfo(),
    store: `${STORE_URL} (synchronous=full, the default), filled through the store port with synchronous=normal`,
    history: 'ended runs of a 3-step noop plan, each with its 3 steps and its events, one second apart',
    commands: 'maestro-run plans/hello.json; maestro runs list --limit 20 (spawned, wall time from spawn to exit)',
    duration_s: round((Date.now() - started) / 1000, 1),
    results,
  } as { duration_s: number; results: unknown[] },
  'bench:history',
);
