import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ScheduleDocument } from '../../src/generated/schemas.js';
import { dueTicks } from '../../src/engine/schedules/schedule-ticks.js';
import { Engine } from '../../src/maestro-engine.js';
import { openStore } from '../../src/store/open.js';
import { dropMongoDatabase, freshMongoUrl, mongoStoreEntries, requireBase, unavailable } from '../support/backends.js';
import { MAESTRO, runCli, startCli } from '../support/spawn-cli.js';

const MINUTE = 60_000;
const T0 = Date.parse('2026-11-24T10:00:00Z');
const at = (minutes: number, seconds = 0) => new Date(T0 + minutes * MINUTE + seconds * 1000);

function schedule(overrides: Partial<ScheduleDocument> = {}): ScheduleDocument {
  return {
    schedule_id: '01M8000000000000000000000A',
    name: 'nightly',
    owner: 'team-a',
    plan_id: '01M8000000000000000000000B',
    cron: '*/1 * * * *',
    timezone: 'UTC',
    inputs: {},
    labels: {},
    catchup: 'skip',
    catchup_limit: 10,
    paused: false,
    created_at: at(0).toISOString(),
    next_tick_at: at(1).toISOString(),
    ...overrides,
  };
}

describe('firing a tick whose concurrency group is busy', () => {
  it('under skip, reports the tick skipped (not failed), starts nothing, and moves on to the next tick', async () => {
    const store = await openStore('memory://');
    const engine = new Engine({ store, schedulerNow: () => at(0) });
    try {
      const { plan } = await engine.applyPlan({ name: 'deploy', steps: [{ id: 'a', uses: 'noop' }] });
      const concurrency = { group: 'deploy', limit: 1, on_conflict: 'skip' as const };
      await engine.startRun(plan, { concurrency }); // holds the group: never driven here
      const { schedule: created } = await engine.schedules.create({
        plan_id: plan.plan_id,
        owner: plan.owner,
        cron: '*/1 * * * *',
        concurrency,
      });
      const skipped: string[] = [];
      const failed: unknown[] = [];
      const report = {
        skipped: (_id: string, tick: string) => skipped.push(tick),
        failed: (e: unknown) => failed.push(e),
      };
      const runs = await engine.scheduler.fireDue(at(1, 5), report);
      expect(runs).toEqual([]);
      expect(skipped).toEqual([at(1).toISOString()]);
      expect(failed).toEqual([]);
      expect((await store.getSchedule(created.schedule_id))?.next_tick_at).toBe(at(2).toISOString());
      expect((await store.listRuns({}, { limit: 10 })).items).toHaveLength(1);
    } finally {
      engine.close();
      await store.close();
    }
  });
});

describe('due schedule ticks', () => {
  it('fires a tick on time, and moves on to the next one', () => {
    expect(dueTicks(schedule(), at(1, 2))).toEqual({
      fire: [at(1).toISOString()],
      skipped: 0,
      next_tick_at: at(2).toISOString(),
    });
    expect(dueTicks(schedule(), at(0, 59)).fire).toEqual([]);
  });

  it('after 5 missed ticks: skip fires none, one the newest, all every one (up to the limit)', () => {
    const late = at(5, 45); // ticks 1..5 passed while no worker ran
    expect(dueTicks(schedule({ catchup: 'skip' }), late)).toMatchObject({ fire: [], skipped: 5 });
    expect(dueTicks(schedule({ catchup: 'one' }), late).fire).toEqual([at(5).toISOString()]);
    expect(dueTicks(schedule({ catchup: 'all' }), late).fire).toEqual([1, 2, 3, 4, 5].map((m) => at(m).toISOString()));
    expect(dueTicks(schedule({ catchup: 'all', catchup_limit: 2 }), late).fire).toEqual([
      at(4).toISOString(),
      at(5).toISOString(),
    ]);
    expect(dueTicks(schedule(), late).next_tick_at).toBe(at(6).toISOString());
  });

  it('reads the cron in its time zone', () => {
    // 03:00 in Berlin is 02:00 UTC in winter.
    const nightly = schedule({
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      next_tick_at: '2026-11-25T02:00:00.000Z',
    });
    expect(dueTicks(nightly, new Date('2026-11-25T02:00:05Z'))).toMatchObject({
      fire: ['2026-11-25T02:00:00.000Z'],
      next_tick_at: '2026-11-26T02:00:00.000Z',
    });
  });
});

describe('maestro schedules and a plan file schedule block (the real binary)', () => {
  it('plans apply keeps one schedule per plan; the schedules commands show, pause, resume, trigger and delete it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-schedules-cli-'));
    const cli = async (...args: string[]) => {
      const result = await runCli(MAESTRO, [...args, '--json'], { cwd });
      if (result.code !== 0) throw new Error(`maestro ${args.join(' ')}: ${result.stderr}`);
      return JSON.parse(result.stdout);
    };
    const plan = (cron: string) => ({
      name: 'report',
      schedule: { cron, timezone: 'Europe/Berlin', catchup: 'one', inputs: { day: 'today' } },
      inputs: { type: 'object', properties: { day: { type: 'string' } } },
      steps: [{ id: 'a', uses: 'noop' }],
    });
    writeFileSync(join(cwd, 'report.json'), JSON.stringify(plan('0 6 * * *')));
    const first = await cli('plans', 'apply', 'report.json');
    expect(first.schedule).toMatchObject({ cron: '0 6 * * *', timezone: 'Europe/Berlin', catchup: 'one' });
    writeFileSync(join(cwd, 'report.json'), JSON.stringify(plan('30 6 * * 1-5')));
    const second = await cli('plans', 'apply', 'report.json');
    expect(second.schedule.schedule_id).toBe(first.schedule.schedule_id);
    expect(second.schedule).toMatchObject({ cron: '30 6 * * 1-5', plan_id: second.plan_id });
    const id = second.schedule.schedule_id as string;
    expect((await cli('schedules', 'list')).items).toHaveLength(1);
    expect((await cli('schedules', 'pause', id)).paused).toBe(true);
    expect((await cli('schedules', 'show', id)).paused).toBe(true);
    expect((await cli('schedules', 'resume', id)).paused).toBe(false);
    const run = await cli('schedules', 'trigger', id);
    expect(run).toMatchObject({ schedule_id: id, inputs: { day: 'today' } });
    await cli('schedules', 'delete', id);
    const gone = await runCli(MAESTRO, ['schedules', 'show', id], { cwd });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('SCHEDULE_NOT_FOUND');
    const badCron = await runCli(MAESTRO, ['schedules', 'create', 'report.json', '--cron', 'nightly'], { cwd });
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toContain('$.cron');
  });
});

describe.each(mongoStoreEntries())('schedules fired by three worker processes on $name', ({ base }) => {
  it.skipIf(unavailable(base !== undefined))(
    'creates each tick of 10 simulated minutes once; after 5 missed ticks skip adds 0, one 1, all 5',
    async () => {
      const storeUrl = freshMongoUrl(requireBase(base));
      const cwd = mkdtempSync(join(tmpdir(), 'maestro-schedules-'));
      const clockFile = join(cwd, 'clock');
      const setClock = (date: Date) => writeFileSync(clockFile, date.toISOString());
      const env = { MAESTRO_STORE: storeUrl, MAESTRO_POLL_MS: '100', MAESTRO_SCHEDULER_CLOCK_FILE: clockFile };
      writeFileSync(join(cwd, 'tick.json'), JSON.stringify({ name: 'tick', steps: [{ id: 'a', uses: 'noop' }] }));
      const cli = async (...args: string[]) => {
        const result = await runCli(MAESTRO, [...args, '--json'], { cwd, env });
        if (result.code !== 0) throw new Error(`maestro ${args.join(' ')}: ${result.stderr}`);
        return JSON.parse(result.stdout);
      };
      const startWorkers = () =>
        [0, 1, 2].map(() => startCli(MAESTRO, ['worker', '--max-runs', '4'], { cwd, env, timeoutMs: 180_000 }));
      const stopWorkers = async (workers: ReturnType<typeof startWorkers>) => {
        for (const worker of workers) worker.kill('SIGTERM');
        expect((await Promise.all(workers.map((w) => w.output))).map((e) => e.code)).toEqual([0, 0, 0]);
      };
      /** Runs per schedule, by scheduled_for. */
      const runsOf = async (): Promise<Map<string, string[]>> => {
        const page = await cli('runs', 'list', '--limit', '200');
        const bySchedule = new Map<string, string[]>();
        for (const run of page.items as Array<{ schedule_id?: string; scheduled_for?: string }>)
          if (run.schedule_id)
            bySchedule.set(run.schedule_id, [...(bySchedule.get(run.schedule_id) ?? []), run.scheduled_for!].sort());
        return bySchedule;
      };
      /** Waits until every schedule has moved past `now` (its next tick is later), so what is due was fired. */
      const settled = async (now: Date) => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const { items } = await cli('schedules', 'list');
          if ((items as ScheduleDocument[]).every((s) => Date.parse(s.next_tick_at) > now.getTime())) return;
          if (Date.now() > deadline) throw new Error(`schedules not fired by ${now.toISOString()}`);
          await sleep(200);
        }
      };
      try {
        setClock(at(0, 10));
        const ids: Record<string, string> = {};
        for (const catchup of ['skip', 'one', 'all'])
          ids[catchup] = (await cli('schedules', 'create', 'tick.json', '--cron', '*/1 * * * *', '--catchup', catchup))
            .schedule_id as string;

        let workers = startWorkers();
        for (let minute = 1; minute <= 10; minute += 1) {
          setClock(at(minute, 1));
          await settled(at(minute, 1));
        }
        const ticks = Array.from({ length: 10 }, (_, i) => at(i + 1).toISOString());
        const first = await runsOf();
        for (const id of Object.values(ids)) expect(first.get(id)).toEqual(ticks);

        // Every worker down for ticks 11..15; back 45 s after the last of them.
        await stopWorkers(workers);
        setClock(at(15, 45));
        workers = startWorkers();
        await settled(at(15, 45));
        const after = await runsOf();
        expect(after.get(ids.skip!)).toHaveLength(10);
        expect(after.get(ids.one!)).toEqual([...ticks, at(15).toISOString()].sort());
        expect(after.get(ids.all!)).toEqual([...ticks, ...[11, 12, 13, 14, 15].map((m) => at(m).toISOString())].sort());
        await stopWorkers(workers);
        console.log(
          `schedules on ${storeUrl.split('/')[2]}: 3 workers, 10 ticks once each; catch-up skip 0, one 1, all 5`,
        );
      } finally {
        await dropMongoDatabase(storeUrl);
      }
    },
    180_000,
  );
});
