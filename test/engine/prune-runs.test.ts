import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { RunDocument } from '../../src/generated/schemas.js';
import { pruneRuns, parseAge } from '../../src/engine/runs/prune-runs.js';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';
import { skipUnavailable, testBackends, type TestBackend } from '../support/backends.js';
import { makeArtifact, makeRun, makeStep } from '../support/documents.js';
import { MAESTRO, runCli } from '../support/spawn-cli.js';

const DAY = 86_400_000;
const NOW = new Date('2026-11-24T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

interface Seeded {
  run: RunDocument;
  steps: number;
  events: number;
  artifacts: number;
}

/** A run with `steps` steps, as many events, and one artifact, ended `endedDaysAgo` days ago (or still running). */
async function seed(
  store: RunStore,
  status: RunDocument['status'],
  endedDaysAgo: number | undefined,
  tree: { parent?: RunDocument } = {},
): Promise<Seeded> {
  const created = daysAgo((endedDaysAgo ?? 60) + 1);
  const run = makeRun({
    status,
    created_at: created,
    started_at: created,
    ...(endedDaysAgo === undefined ? {} : { ended_at: daysAgo(endedDaysAgo) }),
    ...(tree.parent ? { parent_run_id: tree.parent.run_id, root_run_id: tree.parent.root_run_id } : {}),
  });
  const steps = [makeStep(run.run_id, 'a'), makeStep(run.run_id, 'b')];
  await store.createRun(run, steps);
  for (const type of ['run.created', 'run.started'] as const)
    await store.appendEvent({ run_id: run.run_id, type, at: created, data: {} });
  await store.attachArtifact(makeArtifact(run.run_id));
  return { run, steps: 2, events: 2, artifacts: 1 };
}

/** Runs of many ages: what a 30-day prune must remove, and what it must leave. */
async function seedStore(store: RunStore) {
  const old = [await seed(store, 'succeeded', 90), await seed(store, 'failed', 45), await seed(store, 'cancelled', 31)];
  // An old tree: the child run goes with its root.
  const oldRoot = await seed(store, 'succeeded', 40);
  const oldChild = await seed(store, 'succeeded', 41, { parent: oldRoot.run });
  const kept = [await seed(store, 'succeeded', 5), await seed(store, 'failed', 29)];
  // Running for 60 days, and an old child whose root still runs: never touched.
  const running = await seed(store, 'running', undefined);
  const childOfRunning = await seed(store, 'succeeded', 50, { parent: running.run });
  return { removed: [...old, oldRoot, oldChild], kept: [...kept, running, childOfRunning] };
}

/** Each seeded run's step `a` claimed once: on a server that does not isolate updates, a claim leaves a gate. */
async function claimFirstSteps(store: RunStore, runs: Seeded[]): Promise<string[]> {
  const claimed: string[] = [];
  for (const { run } of runs) {
    const [first] = await store.listSteps(run.run_id);
    const lease = { owner: 'test', now: NOW.toISOString(), expires_at: new Date(NOW.getTime() + 60_000).toISOString() };
    if (first && (await store.claimStep(first.step_id, lease))) claimed.push(first.step_id);
  }
  return claimed;
}

/** The claim gates left in a MongoDB-wire store for these documents (FerretDB's `lease_claims`). */
async function gatesOf(url: string, documentIds: string[]): Promise<number> {
  const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 3000 });
  try {
    const ids = documentIds.map((id) => new RegExp(`^${id}:`));
    return await client
      .db()
      .collection('lease_claims')
      .countDocuments({ _id: { $in: ids } } as never);
  } finally {
    await client.close();
  }
}

async function counts(store: RunStore, runs: Seeded[]) {
  let steps = 0;
  let events = 0;
  let artifacts = 0;
  let present = 0;
  for (const { run } of runs) {
    const detail = await store.getRunDetail(run.run_id);
    if (detail) present += 1;
    steps += (await store.listSteps(run.run_id)).length;
    events += (await store.listEvents(run.run_id, 0, 1000)).length;
    artifacts += (await store.listArtifacts(run.run_id)).length;
  }
  return { runs: present, steps, events, artifacts };
}

describe.each(testBackends())('retention (prune) on $name', (backend: TestBackend) => {
  skipUnavailable(backend);

  it('removes exactly the runs that ended before the cutoff, with their documents, and never a running tree', async () => {
    const { store, url, cleanup } = await backend.create();
    try {
      const { removed, kept } = await seedStore(store);
      const removedSteps = await claimFirstSteps(store, removed);
      const keptSteps = await claimFirstSteps(store, kept);
      // Where claims are gated (FerretDB), the gates of a pruned tree go with it; the others' stay.
      const gated = url.startsWith('mongodb') && !store.isolatedUpdates;
      if (gated) expect(await gatesOf(url, removedSteps)).toBe(removed.length);
      const expected = { runs: 5, steps: 10, events: 10, artifacts: 5 };
      const workspace = mkdtempSync(join(tmpdir(), 'maestro-prune-'));
      const options = { olderThanMs: 30 * DAY, statuses: [], includeProvenance: false, workspace, now: NOW };

      const dry = await pruneRuns(store, { ...options, dryRun: true });
      expect(dry.removed).toMatchObject(expected);
      expect(dry.run_ids.sort()).toEqual(removed.map((s) => s.run.run_id).sort());
      expect(await counts(store, removed)).toEqual(expected);

      const done = await pruneRuns(store, { ...options, dryRun: false });
      expect(done.removed).toMatchObject(expected);
      expect(await counts(store, removed)).toEqual({ runs: 0, steps: 0, events: 0, artifacts: 0 });
      expect(await counts(store, kept)).toEqual({ runs: 4, steps: 8, events: 8, artifacts: 4 });
      if (gated) {
        expect(await gatesOf(url, removedSteps)).toBe(0);
        expect(await gatesOf(url, keptSteps)).toBe(kept.length);
      }
      // Nothing left to remove: a second prune finds nothing.
      expect((await pruneRuns(store, { ...options, dryRun: false })).removed.runs).toBe(0);

      // --status narrows it: only the failed run of 29 days goes at 7 days.
      const failedOnly = await pruneRuns(store, {
        ...options,
        olderThanMs: 7 * DAY,
        statuses: ['failed'],
        dryRun: false,
      });
      expect(failedOnly.run_ids).toEqual([kept[1]!.run.run_id]);
    } finally {
      await cleanup();
    }
  });
});

describe('maestro prune (the real binary)', () => {
  it('prunes the embedded store by age, keeps provenance files unless asked, and --dry-run changes nothing', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-prune-cli-'));
    const store = await openStore(`sqlite://${join(cwd, '.maestro', 'maestro.db')}`);
    const old = await seed(store, 'succeeded', 400);
    const recent = await seed(store, 'succeeded', 1);
    await store.close();
    for (const run of [old.run, recent.run]) {
      mkdirSync(join(cwd, '.maestro', 'logs', run.run_id), { recursive: true });
      writeFileSync(join(cwd, '.maestro', 'logs', run.run_id, 'a.1.log'), 'log\n');
    }
    mkdirSync(join(cwd, '.maestro', 'ledger'), { recursive: true });
    writeFileSync(join(cwd, '.maestro', 'ledger', `${old.run.run_id}.json`), '{}');

    const dry = await runCli(MAESTRO, ['prune', '--older-than', '30d', '--dry-run', '--json'], { cwd });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dry_run: true,
      run_ids: [old.run.run_id],
      removed: { runs: 1, steps: 2, events: 2, artifacts: 1, log_files: 1, provenance_files: 0 },
    });
    expect(existsSync(join(cwd, '.maestro', 'logs', old.run.run_id))).toBe(true);
    expect(JSON.parse((await runCli(MAESTRO, ['runs', 'list', '--json'], { cwd })).stdout).items).toHaveLength(2);

    const done = await runCli(MAESTRO, ['prune', '--older-than', '30d'], { cwd });
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/RUNS +STEPS +EVENTS +ARTIFACTS +LOG_FILES +PROVENANCE_FILES\n1 +2 +2 +1 +1 +0/);
    expect(existsSync(join(cwd, '.maestro', 'logs', old.run.run_id))).toBe(false);
    expect(existsSync(join(cwd, '.maestro', 'logs', recent.run.run_id))).toBe(true);
    expect(existsSync(join(cwd, '.maestro', 'ledger', `${old.run.run_id}.json`))).toBe(true);
    const listed = JSON.parse((await runCli(MAESTRO, ['runs', 'list', '--json'], { cwd })).stdout).items;
    expect(listed.map((r: RunDocument) => r.run_id)).toEqual([recent.run.run_id]);

    const bad = await runCli(MAESTRO, ['prune', '--older-than', 'last week'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--older-than');
    const running = await runCli(MAESTRO, ['prune', '--older-than', '1d', '--status', 'running'], { cwd });
    expect(running.code).toBe(2);
    expect(running.stderr).toContain('--status');
  });

  it('reads ages in seconds to weeks', () => {
    expect(parseAge('30d')).toBe(30 * DAY);
    expect(parseAge('2w')).toBe(14 * DAY);
    expect(parseAge('90m')).toBe(90 * 60_000);
    expect(() => parseAge('0d')).toThrow(/--older-than/);
  });
});
