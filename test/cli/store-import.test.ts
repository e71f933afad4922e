import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { MAESTRO, MAESTRO_RUN, REPO_ROOT, runCli } from '../support/spawn-cli.js';

/** A NeDB store written by the last version that had NeDB (see its commit): a slow run in it was killed with -9. */
const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'nedb-store');
/** What NeDB itself loaded from the fixture, per collection. */
const FIXTURE_COUNTS = { plans: 7, runs: 8, steps: 27, artifacts: 2, events: 76, schedules: 2 };

/** A workspace whose .maestro/store is the old store, and no .maestro/maestro.db yet. */
function oldWorkspace(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-import-'));
  cpSync(FIXTURE, join(cwd, '.maestro', 'store'), { recursive: true });
  return cwd;
}

function countsOf(stdout: string): Record<string, number> {
  const result = JSON.parse(stdout) as {
    collections: Array<{ collection: string; in_nedb: number; in_sqlite: number }>;
  };
  for (const row of result.collections) expect(row.in_sqlite, row.collection).toBe(row.in_nedb);
  return Object.fromEntries(result.collections.map((row) => [row.collection, row.in_sqlite]));
}

describe('maestro store import', () => {
  it('copies every document of a real NeDB store into the default SQLite store, and the runs read as before', async () => {
    const cwd = oldWorkspace();
    const imported = await runCli(MAESTRO, ['store', 'import', 'nedb://.maestro/store', '--json'], { cwd });
    expect(imported.code, imported.stderr).toBe(0);
    expect(countsOf(imported.stdout)).toEqual(FIXTURE_COUNTS);
    expect(imported.stderr).toBe('');

    const store = await openStore(`sqlite://${join(cwd, '.maestro', 'maestro.db')}`);
    try {
      const runs = await store.listRuns({}, { limit: 50 });
      expect(runs.items.map((run) => run.plan_name).sort()).toEqual(
        ['budget', 'fan-out', 'fan-out-summary', 'hello', 'hello', 'hello', 'provenance', 'slow'].sort(),
      );
      const budget = runs.items.find((run) => run.plan_name === 'budget')!;
      expect(budget.status).toBe('failed');
      expect(typeof budget.created_at).toBe('string');
      // Dates came back as dates: the run lists newest first by created_at.
      const created = runs.items.map((run) => run.created_at);
      expect(created).toEqual([...created].sort().reverse());
      // The slow run was killed mid-step: its last update (a later line of the same _id) is the one imported.
      const slow = runs.items.find((run) => run.plan_name === 'slow')!;
      expect(slow.status).toBe('running');
      const steps = await store.listSteps(slow.run_id);
      expect(steps.find((step) => step.key === 'prepare')?.status).toBe('succeeded');
    } finally {
      await store.close();
    }

    // A new run goes into the same store beside them.
    const hello = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'hello.json')], { cwd });
    expect(hello.code, hello.stderr).toBe(0);
    const list = await runCli(MAESTRO, ['runs', 'list', '--json', '--limit', '50'], { cwd });
    expect((JSON.parse(list.stdout) as { items: unknown[] }).items).toHaveLength(9);
  });

  it('refuses a store that holds runs unless --merge, which keeps what is there and adds the rest', async () => {
    const cwd = oldWorkspace();
    const run = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'hello.json')], { cwd });
    expect(run.code, run.stderr).toBe(0);

    const refused = await runCli(MAESTRO, ['store', 'import', '.maestro/store'], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('STORE_IMPORT_REFUSED');
    expect(refused.stderr).toContain('already holds 1 runs');
    expect(refused.stderr).toContain('--merge');

    const merged = await runCli(MAESTRO, ['store', 'import', '.maestro/store', '--merge', '--json'], { cwd });
    expect(merged.code, merged.stderr).toBe(0);
    expect(countsOf(merged.stdout)).toEqual(FIXTURE_COUNTS);
    const list = await runCli(MAESTRO, ['runs', 'list', '--json', '--limit', '50'], { cwd });
    expect((JSON.parse(list.stdout) as { items: unknown[] }).items).toHaveLength(9);

    // Again: every document is there already by id, so the counts still match and nothing is added.
    const again = await runCli(MAESTRO, ['store', 'import', '.maestro/store', '--merge', '--json'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(countsOf(again.stdout)).toEqual(FIXTURE_COUNTS);
  });

  it('reads NeDB files as NeDB did: later lines replace, $$deleted removes, a line cut short is dropped', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-import-lines-'));
    const old = join(cwd, 'old');
    mkdirSync(old);
    const fixturePlans = readFileSync(join(FIXTURE, 'plans.db'), 'utf8').split('\n').filter(Boolean);
    const planLines = fixturePlans.filter((line) => line.includes('"_id"'));
    const [first, second] = planLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    writeFileSync(
      join(old, 'plans.db'),
      [
        '{"$$indexCreated":{"fieldName":"plan_id,created_at","unique":false,"sparse":false}}',
        JSON.stringify(first),
        JSON.stringify(second),
        JSON.stringify({ ...first, description: 'replaced by a later line' }),
        JSON.stringify({ $$deleted: true, _id: second!._id }),
        '',
      ].join('\n'),
    );
    appendFileSync(join(old, 'plans.db'), JSON.stringify(second).slice(0, 40)); // killed while appending
    const imported = await runCli(MAESTRO, ['store', 'import', `nedb://${old}`, '--json'], { cwd });
    expect(imported.code, imported.stderr).toBe(0);
    const result = JSON.parse(imported.stdout) as {
      collections: Array<{ collection: string; in_nedb: number; in_sqlite: number; unreadable_lines: number }>;
    };
    expect(result.collections.find((row) => row.collection === 'plans')).toEqual({
      collection: 'plans',
      in_nedb: 1,
      in_sqlite: 1,
      unreadable_lines: 1,
    });
    const store = await openStore(`sqlite://${join(cwd, '.maestro', 'maestro.db')}`);
    try {
      const plan = await store.getPlan(first!.plan_id as string);
      expect(plan?.description).toBe('replaced by a later line');
    } finally {
      await store.close();
    }
  });

  it('imports nothing, exit 1 with the counts, when the SQLite store would hold fewer documents than were read', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-import-short-'));
    const old = join(cwd, 'old');
    cpSync(FIXTURE, old, { recursive: true });
    // Two events with one (run_id, seq) under different ids: NeDB's unique index refused that, a damaged file has it.
    const event = readFileSync(join(old, 'events.db'), 'utf8')
      .split('\n')
      .find((line) => line.includes('"_id"'))!;
    appendFileSync(join(old, 'events.db'), `${JSON.stringify({ ...JSON.parse(event), _id: 'a-second-id' })}\n`);
    const result = await runCli(MAESTRO, ['store', 'import', old], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('STORE_IMPORT_REFUSED');
    expect(result.stderr).toContain(`events: ${FIXTURE_COUNTS.events} of ${FIXTURE_COUNTS.events + 1}`);
    expect(result.stdout).toMatch(/events\s+77\s+76/);
    const list = await runCli(MAESTRO, ['runs', 'list', '--json'], { cwd });
    expect((JSON.parse(list.stdout) as { items: unknown[] }).items).toEqual([]);
  });

  it('refuses what is not a NeDB store, and an old store an earlier version still has open', async () => {
    const cwd = oldWorkspace();
    const missing = await runCli(MAESTRO, ['store', 'import', 'nedb://nowhere'], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('is not a NeDB store');

    const garbage = join(cwd, 'garbage');
    mkdirSync(garbage);
    writeFileSync(
      join(garbage, 'runs.db'),
      'not json\n{"_id":"r1","status":"queued"}\nnot json either\n{"_id":"r2"}\n',
    );
    const corrupt = await runCli(MAESTRO, ['store', 'import', garbage], { cwd });
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain('STORE_CORRUPT');
    expect(corrupt.stderr).toContain(join(garbage, 'runs.db'));

    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(cwd, '.maestro', 'store', 'LOCK'), String(holder.pid));
      const locked = await runCli(MAESTRO, ['store', 'import', 'nedb://.maestro/store'], { cwd });
      expect(locked.code).toBe(1);
      expect(locked.stderr).toContain(`in use by process ${holder.pid}`);
    } finally {
      holder.kill();
    }
    // Refused before the SQLite store was opened: nothing was created.
    expect(existsSync(join(cwd, '.maestro', 'maestro.db'))).toBe(false);
  });

  it('a command on a workspace that has only the old store says once how to import it, and works', async () => {
    const cwd = oldWorkspace();
    const first = await runCli(MAESTRO, ['runs', 'list'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr.match(/maestro store import nedb:\/\/\.maestro\/store/g)).toHaveLength(1);
    expect(first.stderr).toContain('.maestro/store holds a store of an earlier version (NeDB)');
    // The new store exists now: the next command says nothing.
    const second = await runCli(MAESTRO, ['runs', 'list'], { cwd });
    expect(second.stderr).toBe('');
  });

  it('a nedb:// store URL is refused, naming the import command', async () => {
    const cwd = oldWorkspace();
    const result = await runCli(MAESTRO, ['runs', 'list', '--store', 'nedb://.maestro/store'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('maestro store import nedb://.maestro/store');
  });
});
