import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isMaestroError, type MaestroError } from '../../src/domain/errors.js';
import { openStore, parseStoreUrl } from '../../src/store/open.js';
import type { Filter, SortOrder } from '../../src/store/document-collection.js';
import { defaultSqliteConfig } from '../../src/store/sqlite/sqlite-config.js';
import { SqliteDriver } from '../../src/store/sqlite/sqlite-driver.js';
import { filterToSql, sortToSql } from '../../src/store/sqlite/sqlite-query.js';
import { ensureSchema } from '../../src/store/sqlite/sqlite-schema.js';
import { makeRun, makeStep } from '../support/documents.js';
import { MAESTRO, runCli } from '../support/spawn-cli.js';

const workspace = mkdtempSync(join(tmpdir(), 'maestro-sqlite-store-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

async function openError(url: string): Promise<MaestroError> {
  try {
    const store = await openStore(url);
    await store.listRuns({}, { limit: 5 });
    await store.close();
  } catch (error) {
    if (isMaestroError(error)) return error;
    throw error;
  }
  throw new Error(`${url} opened`);
}

/** A store file with some history, closed (its WAL folded into it). */
async function storeWithRuns(name: string): Promise<string> {
  const file = join(workspace, name);
  const store = await openStore(`sqlite://${file}`);
  for (let i = 0; i < 30; i += 1) {
    const run = makeRun({ inputs: { padding: 'x'.repeat(2000) } });
    await store.createRun(run, [makeStep(run.run_id, 'a'), makeStep(run.run_id, 'b')]);
  }
  await store.close();
  return file;
}

describe('sqlite:// URLs', () => {
  it('resolves a relative file against the working directory, takes an absolute one and :memory:', () => {
    expect(parseStoreUrl('sqlite://.maestro/maestro.db', '/home/u/project')).toMatchObject({
      kind: 'sqlite',
      file: '/home/u/project/.maestro/maestro.db',
      inMemory: false,
      synchronous: 'full',
    });
    expect(parseStoreUrl('sqlite:///var/lib/maestro.db?synchronous=normal')).toMatchObject({
      file: '/var/lib/maestro.db',
      synchronous: 'normal',
    });
    expect(parseStoreUrl('sqlite://:memory:')).toMatchObject({ kind: 'sqlite', inMemory: true });
  });

  it('refuses a missing file, an unknown option and a misspelt synchronous, naming what is wrong', () => {
    const refusal = (url: string) => {
      try {
        parseStoreUrl(url);
      } catch (error) {
        expect(isMaestroError(error, 'STORE_URL_INVALID')).toBe(true);
        return error as MaestroError;
      }
      throw new Error(`${url} was accepted`);
    };
    expect(refusal('sqlite://').message).toContain('needs a database file');
    expect(refusal('sqlite://a.db?synchronus=normal').message).toContain('unknown option synchronus');
    expect(refusal('sqlite://a.db?synchronous=off').details).toMatchObject({ path: 'store.synchronous', got: 'off' });
    expect(refusal('sqlite://a.db?busyTimeoutMs=-1').details).toMatchObject({ path: 'store.busyTimeoutMs' });
  });

  it('keeps the file in WAL mode and reports its durability setting', async () => {
    const file = join(workspace, 'wal.db');
    const store = await openStore(`sqlite://${file}?synchronous=normal`);
    expect(store.backend).toBe(`sqlite (${file}, synchronous=normal)`);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await store.close();
  });
});

describe('a SQLite store file that cannot be read', () => {
  it('is STORE_CORRUPT naming the file when it holds something else than a database', async () => {
    const file = join(workspace, 'garbage.db');
    writeFileSync(file, Buffer.alloc(40_000, 0x5a));
    const error = await openError(`sqlite://${file}`);
    expect(error.code).toBe('STORE_CORRUPT');
    expect(error.message).toContain(file);
    expect(error.details.file).toBe(file);
  });

  it('is STORE_CORRUPT naming the file when it was cut short, or its pages overwritten', async () => {
    const good = await storeWithRuns('good.db');
    const size = statSync(good).size;
    expect(size).toBeGreaterThan(100_000);
    const truncated = join(workspace, 'truncated.db');
    copyFileSync(good, truncated);
    truncateSync(truncated, Math.floor(size / 2));
    const overwritten = join(workspace, 'overwritten.db');
    const bytes = readFileSync(good);
    bytes.fill(0x5a, 100);
    writeFileSync(overwritten, bytes);
    for (const file of [truncated, overwritten]) {
      const error = await openError(`sqlite://${file}`);
      expect(error.code).toBe('STORE_CORRUPT');
      expect(error.details.file).toBe(file);
    }
    // The original still opens: the checks do not refuse a good file.
    const store = await openStore(`sqlite://${good}`);
    expect((await store.listRuns({}, { limit: 50 })).items).toHaveLength(30);
    await store.close();
  });

  it('makes a command exit 1 with STORE_CORRUPT and the file, without hanging', async () => {
    const file = join(workspace, 'cli-garbage.db');
    writeFileSync(file, 'not a database\n'.repeat(1000));
    const result = await runCli(MAESTRO, ['runs', 'list', '--store', `sqlite://${file}`], {
      cwd: workspace,
      timeoutMs: 20_000,
    });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('STORE_CORRUPT');
    expect(result.stderr).toContain(file);
  });
});

describe('the SQLite store reads through an index', () => {
  const now = new Date();
  // The queries of the shared store logic (src/store/*.ts) whose cost grows with history.
  const queries: Array<[string, string, Filter, SortOrder?, number?]> = [
    ['a run by idempotency key', 'runs', { idempotency_key: 'k' }],
    ['the newest runs', 'runs', {}, { created_at: -1, _id: -1 }, 21],
    [
      "an owner's runs after a cursor",
      'runs',
      { $and: [{ owner: 'o' }, { $or: [{ created_at: { $lt: now } }, { created_at: now, _id: { $lt: 'r' } }] }] },
      { created_at: -1, _id: -1 },
      21,
    ],
    ["a plan's runs", 'runs', { plan_id: 'p' }, { created_at: -1, _id: -1 }, 21],
    // runs list --status X, with and without an owner, first page and after a cursor.
    ['runs by status', 'runs', { status: 'failed' }, { created_at: -1, _id: -1 }, 21],
    [
      'runs by status after a cursor',
      'runs',
      { $and: [{ status: 'failed' }, { $or: [{ created_at: { $lt: now } }, { created_at: now, _id: { $lt: 'r' } }] }] },
      { created_at: -1, _id: -1 },
      21,
    ],
    ["an owner's runs by status", 'runs', { status: 'failed', owner: 'o' }, { created_at: -1, _id: -1 }, 21],
    ['child runs', 'runs', { parent_run_id: 'p' }, { created_at: -1, _id: -1 }, 21],
    [
      'a claimable run',
      'runs',
      {
        status: { $in: ['pending', 'running'] },
        $or: [{ lease: { $exists: false } }, { 'lease.expires_at': { $lt: now } }],
      },
      { created_at: 1, _id: 1 },
      1,
    ],
    [
      "a concurrency group's unfinished runs",
      'runs',
      { 'concurrency.group': 'g', owner: 'o', status: { $in: ['pending', 'running'] } },
      { created_at: 1, _id: 1 },
    ],
    [
      'ended root runs for retention',
      'runs',
      { parent_run_id: { $exists: false }, status: { $in: ['succeeded', 'failed'] }, ended_at: { $lt: now } },
      { ended_at: 1, _id: 1 },
      100,
    ],
    ["a run's tree", 'runs', { root_run_id: 'r' }],
    ['a run by idempotency key', 'runs', { idempotency_key: 'k' }],
    ['open offers, oldest first', 'steps', { offered_at: { $exists: true } }, { offered_at: 1 }, 50],
    ["a run's steps", 'steps', { run_id: 'r' }, { _id: 1 }],
    ["a run's events after a seq", 'events', { run_id: 'r', seq: { $gt: 3 } }, { seq: 1 }, 100],
    ["a run's last event", 'events', { run_id: 'r' }, { seq: -1 }, 1],
    ["a run's artifacts", 'artifacts', { run_id: 'r' }, { created_at: 1, _id: 1 }],
    ['due schedules', 'schedules', { paused: false, next_tick_at: { $lte: now } }, { next_tick_at: 1, _id: 1 }, 10],
    ["a plan file's schedule", 'schedules', { plan_key: 'k' }],
    ['a plan id by owner and name', 'plans', { owner: 'o', name: 'n' }, { created_at: 1, _id: 1 }, 1],
    ["a plan's newest version", 'plans', { plan_id: 'p' }, { created_at: -1, _id: -1 }, 1],
  ];
  const db = new Database(':memory:');
  ensureSchema(db);
  afterAll(() => db.close());

  it.each(queries)('%s, exactly in SQL', (_what, table, filter, sort, limit) => {
    const condition = filterToSql(filter);
    expect(condition.exact).toBe(true);
    const sql = `SELECT id, doc FROM ${table} WHERE ${condition.sql}${sortToSql(sort)}${limit ? ` LIMIT ${limit}` : ''}`;
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...condition.params) as Array<{ detail: string }>).map(
      (row) => row.detail,
    );
    expect(plan.join(' | ')).toMatch(/USING (COVERING )?INDEX/);
    expect(plan.filter((detail) => /^SCAN \w+$/.test(detail) || detail.startsWith('MULTI-INDEX OR'))).toEqual([]);
    // A page (sort and limit) is read in index order: sorting would read every match first. Not checked for an $in of
    // statuses (claims, retention), which reads one index range per status and sorts what they hold.
    if (sort && limit && !JSON.stringify(filter).includes('$in'))
      expect(plan.filter((detail) => detail.includes('TEMP B-TREE'))).toEqual([]);
  });
});

describe('a SQLite store from an earlier version', () => {
  it('has an index whose definition changed rebuilt on open (steps_offered, now partial), its documents kept', async () => {
    const file = join(workspace, 'full-offered-index.db');
    const store = await openStore(`sqlite://${file}`);
    const run = makeRun();
    await store.createRun(run, [makeStep(run.run_id, 'a'), makeStep(run.run_id, 'b')]);
    await store.close();
    // As the version before made it: every step in the index, offered or not.
    const db = new Database(file);
    db.exec('DROP INDEX steps_offered');
    db.exec(`CREATE INDEX steps_offered ON steps (json_extract(doc, '$.offered_at'), id)`);
    const [a] = db.prepare('SELECT id FROM steps ORDER BY id LIMIT 1').pluck().all() as string[];
    db.prepare(`UPDATE steps SET doc = json_set(doc, '$.offered_at', json(?)) WHERE id = ?`).run(
      JSON.stringify({ $date: new Date().toISOString() }),
      a,
    );
    db.close();

    const reopened = await openStore(`sqlite://${file}`);
    const offered = await reopened.listOfferedSteps(10);
    await reopened.close();
    expect(offered.map((step) => step.step_id)).toEqual([a]);
    const after = new Database(file, { readonly: true });
    const definition = after.prepare("SELECT sql FROM sqlite_master WHERE name = 'steps_offered'").pluck().get();
    const entries = after
      .prepare("SELECT count(*) FROM steps INDEXED BY steps_offered WHERE json_type(doc, '$.offered_at') IS NOT NULL")
      .pluck()
      .get();
    after.close();
    expect(definition).toMatch(/WHERE json_type\(doc, '\$\.offered_at'\) IS NOT NULL$/);
    expect(entries).toBe(1);
  });
});

describe('SQLite store queries', () => {
  it('give dates back as dates, wherever they are, and date-like strings as strings', async () => {
    const driver = await SqliteDriver.open({ ...defaultSqliteConfig, inMemory: true });
    try {
      const runs = driver.collection('runs');
      const at = new Date('2026-01-02T03:04:05.678Z');
      await runs.insertOne({ _id: 'r', created_at: at, inputs: { when: at.toISOString(), '%24date': 'x' } });
      await runs.updateOne({ _id: 'r' }, { $set: { 'lease.expires_at': at }, $push: { hook_failures: { at } } });
      const [doc] = await runs.find({ created_at: at, 'lease.expires_at': { $lte: at } });
      expect(doc?.created_at).toEqual(at);
      expect(doc?.created_at).toBeInstanceOf(Date);
      expect((doc?.lease as { expires_at: unknown }).expires_at).toEqual(at);
      expect((doc?.hook_failures as Array<{ at: unknown }>)[0]?.at).toBeInstanceOf(Date);
      expect(doc?.inputs).toEqual({ when: '2026-01-02T03:04:05.678Z', '%24date': 'x' });
      // A string is not a date to a filter either, as on MongoDB.
      expect(await runs.find({ 'inputs.when': at })).toEqual([]);
    } finally {
      await driver.close();
    }
  });

  it('take an $in list longer than SQLite takes parameters (a large run tree), and still use the index', async () => {
    const driver = await SqliteDriver.open({ ...defaultSqliteConfig, inMemory: true });
    try {
      const runs = driver.collection('runs');
      await runs.insertMany([
        { _id: 'r1', run_id: 'r1' },
        { _id: 'r2', run_id: 'r2' },
        { _id: 'r3', run_id: 'r3' },
      ]);
      const ids = [...Array.from({ length: 40_000 }, (_, i) => `other-${i}`), 'r1', 'r3'];
      expect((await runs.find({ _id: { $in: ids } }, { sort: { _id: 1 } })).map((doc) => doc._id)).toEqual([
        'r1',
        'r3',
      ]);
      expect(await runs.deleteMany({ _id: { $in: ids } })).toBe(2);
      expect((await runs.find({})).map((doc) => doc._id)).toEqual(['r2']);
    } finally {
      await driver.close();
    }
    const db = new Database(':memory:');
    ensureSchema(db);
    const condition = filterToSql({ run_id: { $in: Array.from({ length: 500 }, (_, i) => `run-${i}`) } });
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM steps WHERE ${condition.sql}`).all(...condition.params);
    expect(JSON.stringify(plan)).toContain('USING INDEX steps_run_key');
    db.close();
  });
});
