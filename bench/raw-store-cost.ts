import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { EVENT_BATCH_LIMIT } from '../src/engine/run-loop/run-event-queue.js';
import { mongoDatabaseUrl, type BenchBackend } from './bench-backends.js';

/** Which store the raw writes go to: the kind, the MongoDB server, and how a SQLite file commits. */
export type RawTarget = Pick<BenchBackend, 'kind' | 'mongoUrl' | 'synchronous'>;

/** The fields of a step document the raw writes touch. */
interface RawStep {
  _id: string;
  status: string;
  attempt: number;
  lease?: { owner: string; expires_at: Date; fence: number };
  started_at?: Date;
  ended_at?: Date;
  outputs?: object;
}

interface RawCollections {
  insertStep(doc: Record<string, unknown>): Promise<void>;
  /** Takes the lease; with `startedAt`, also marks the step started in the same write (as the engine's claim). */
  claim(id: string, owner: string, startedAt?: Date): Promise<void>;
  start(id: string): Promise<void>;
  finish(id: string): Promise<void>;
  event(runId: string, seq: number, type?: string): Promise<void>;
  /** Several events of a run in one write (one transaction, one ordered insertMany), as the engine writes them. */
  events(runId: string, batch: ReadonlyArray<{ seq: number; type: string }>): Promise<void>;
  close(): Promise<void>;
  /** False on FerretDB 1.x: it runs a guarded update as a read then a write, and refuses concurrent ones (busy). */
  isolatesUpdates: boolean;
}

function claimFields(owner: string): Record<string, unknown> {
  return { status: 'running', 'lease.owner': owner, 'lease.expires_at': new Date(Date.now() + 30_000) };
}

/**
 * The two collections a step's writes touch, on a fresh database or SQLite file. Events always have the unique
 * (run_id, seq) index; `stepKeyIndex` adds the unique (run_id, key) one the store keeps on steps.
 */
async function openRaw(target: RawTarget, { stepKeyIndex = false } = {}): Promise<RawCollections> {
  if (target.kind === 'mongodb') {
    const url = mongoDatabaseUrl(target.mongoUrl!, `maestro_raw_${Date.now().toString(36)}`);
    const client = await MongoClient.connect(url, { writeConcern: { w: 'majority', journal: true } });
    const db = client.db();
    const steps = db.collection<RawStep>('steps');
    const events = db.collection('events');
    await events.createIndex({ run_id: 1, seq: 1 }, { unique: true });
    if (stepKeyIndex) await steps.createIndex({ run_id: 1, key: 1 }, { unique: true });
    const buildInfo = await db.admin().command({ buildInfo: 1 });
    return {
      isolatesUpdates: !buildInfo.ferretdbVersion,
      insertStep: async (doc) => void (await steps.insertOne(doc as unknown as RawStep)),
      claim: async (id, owner, startedAt) =>
        void (await steps.findOneAndUpdate(
          { _id: id, status: 'pending' },
          {
            $set: { ...claimFields(owner), ...(startedAt ? { started_at: startedAt } : {}) },
            $inc: { attempt: 1, 'lease.fence': 1 },
          },
          { returnDocument: 'after' },
        )),
      start: async (id) => void (await steps.updateOne({ _id: id }, { $set: { started_at: new Date() } })),
      finish: async (id) =>
        void (await steps.findOneAndUpdate(
          { _id: id, 'lease.fence': 1 },
          { $set: { status: 'succeeded', ended_at: new Date(), outputs: {} } },
          { returnDocument: 'after' },
        )),
      event: async (runId, seq, type = 'step.succeeded') =>
        void (await events.insertOne({ run_id: runId, seq, type, at: new Date(), data: {} })),
      events: async (runId, batch) =>
        void (await events.insertMany(
          batch.map(({ seq, type }) => ({ run_id: runId, seq, type, at: new Date(), data: {} })),
        )),
      close: async () => {
        await db.dropDatabase();
        await client.close();
      },
    };
  }
  return openRawSqlite(target, stepKeyIndex);
}

/**
 * The same tables as the SQLite store (the document as JSON per row, expression indexes on its fields), written
 * with better-sqlite3 directly: each write one autocommit statement, a guarded one a conditional UPDATE … RETURNING
 * (one statement is one transaction: as isolated as the store's claim). A file is in WAL mode with the target's
 * synchronous setting, as the store opens it; memory is SQLite in memory.
 */
function openRawSqlite(target: RawTarget, stepKeyIndex: boolean): RawCollections {
  const dir = target.kind === 'sqlite-file' ? mkdtempSync(join(tmpdir(), 'maestro-raw-')) : undefined;
  const db = new Database(dir ? join(dir, 'raw.db') : ':memory:');
  if (dir) db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${target.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  const field = (name: string) => `json_extract(doc, '$.${name}')`;
  for (const table of ['steps', 'events'])
    db.exec(`CREATE TABLE ${table} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL) STRICT`);
  db.exec(`CREATE UNIQUE INDEX events_run_seq ON events (${field('run_id')}, ${field('seq')})`);
  if (stepKeyIndex) db.exec(`CREATE UNIQUE INDEX steps_run_key ON steps (${field('run_id')}, ${field('key')})`);
  const insertStep = db.prepare('INSERT INTO steps (id, doc) VALUES (?, ?)');
  const claim = db.prepare(
    `UPDATE steps SET doc = json_set(doc, '$.status', 'running', '$.lease.owner', ?, '$.lease.expires_at', ?,
       '$.attempt', ${field('attempt')} + 1, '$.lease.fence', coalesce(${field('lease.fence')}, 0) + 1,
       '$.started_at', coalesce(?, ${field('started_at')}))
     WHERE id = ? AND ${field('status')} = 'pending' RETURNING doc`,
  );
  const start = db.prepare(`UPDATE steps SET doc = json_set(doc, '$.started_at', ?) WHERE id = ?`);
  const finish = db.prepare(
    `UPDATE steps SET doc = json_set(doc, '$.status', 'succeeded', '$.ended_at', ?, '$.outputs', json('{}'))
     WHERE id = ? AND ${field('lease.fence')} = 1 RETURNING doc`,
  );
  const insertEvent = db.prepare('INSERT INTO events (id, doc) VALUES (?, ?)');
  let events = 0;
  const event = (runId: string, seq: number, type: string) =>
    void insertEvent.run(
      `event-${(events += 1)}`,
      JSON.stringify({ run_id: runId, seq, type, at: new Date().toISOString(), data: {} }),
    );
  const eventBatch = db.transaction((runId: string, batch: ReadonlyArray<{ seq: number; type: string }>) => {
    for (const { seq, type } of batch) event(runId, seq, type);
  });
  return {
    isolatesUpdates: true,
    insertStep: async (doc) => void insertStep.run(String(doc._id), JSON.stringify({ ...doc, _id: undefined })),
    claim: async (id, owner, startedAt) =>
      void claim.get(owner, new Date(Date.now() + 30_000).toISOString(), startedAt?.toISOString() ?? null, id),
    start: async (id) => void start.run(new Date().toISOString(), id),
    finish: async (id) => void finish.get(new Date().toISOString(), id),
    event: async (runId, seq, type = 'step.succeeded') => event(runId, seq, type),
    events: async (runId, batch) => void eventBatch.immediate(runId, batch),
    close: async () => {
      db.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The physical limit: the minimal store writes one step needs (claim, start, finish, one event), done directly with
 * the driver or better-sqlite3, one step after another. Returns milliseconds per step.
 */
export async function rawWritesPerStepMs(target: RawTarget, steps: number): Promise<number> {
  const raw = await openRaw(target);
  try {
    const ids = await insertPendingSteps(raw, steps);
    const start = performance.now();
    let seq = 0;
    for (const id of ids) {
      await raw.claim(id, 'bench');
      await raw.start(id);
      await raw.finish(id);
      seq += 1;
      await raw.event('raw-run', seq);
    }
    return (performance.now() - start) / steps;
  } finally {
    await raw.close();
  }
}

async function insertPendingSteps(raw: RawCollections, steps: number): Promise<string[]> {
  const ids = Array.from({ length: steps }, (_, i) => `step-${i}`);
  for (const id of ids)
    await raw.insertStep({
      _id: id,
      run_id: 'raw-run',
      key: id,
      status: 'pending',
      attempt: 0,
      created_at: new Date(),
    });
  return ids;
}

/**
 * The floor under Maestro's guarantees on this store: per step, the writes no engine keeping them can do without,
 * kept as the store must keep them. A claim that also marks the step running, then its result, each awaited (the
 * step may not run before its claim is stored, nor a step after it before its result is); its started and ended
 * events written behind those, as the engine writes them, and all stored before the clock stops; the unique
 * indexes the store holds on a run's steps (by key) and events (by seq). `lanes` steps at a time, as a fan-out
 * runs them; 1 for a chain, and 1 on a server that does not isolate updates (the engine serializes its claims
 * there through claim gates). Returns milliseconds per step and the lanes used.
 */
export async function guaranteeFloorPerStepMs(
  target: RawTarget,
  steps: number,
  lanes = 1,
): Promise<{ perStepMs: number; lanes: number }> {
  const raw = await openRaw(target, { stepKeyIndex: true });
  try {
    const ids = await insertPendingSteps(raw, steps);
    const eventWrites: Array<Promise<void>> = [];
    let queued: Array<{ seq: number; type: string }> = [];
    // Events go behind the step writes as the engine's RunEventQueue sends them: those of one turn of the event
    // loop in one write, at most EVENT_BATCH_LIMIT at a time.
    const flushEvents = () => {
      if (queued.length > 0) eventWrites.push(raw.events('raw-run', queued));
      queued = [];
    };
    const queueEvent = (type: string) => {
      if (queued.length === 0) setImmediate(flushEvents);
      queued.push({ seq: ++seq, type });
      if (queued.length >= EVENT_BATCH_LIMIT) flushEvents();
    };
    let seq = 0;
    let next = 0;
    const lane = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await raw.claim(id, 'bench', new Date());
        queueEvent('step.started');
        await raw.finish(id);
        queueEvent('step.succeeded');
      }
    };
    const used = raw.isolatesUpdates ? lanes : 1;
    const start = performance.now();
    await Promise.all(Array.from({ length: used }, lane));
    flushEvents();
    await Promise.all(eventWrites);
    return { perStepMs: (performance.now() - start) / steps, lanes: used };
  } finally {
    await raw.close();
  }
}
