import type { PlanDocument, RunDocument, ScheduleDocument } from '../../generated/schemas.js';
import { sleepOn, systemClock, type Clock } from '../../domain/clock.js';
import { isMaestroError } from '../../domain/errors.js';
import type { RunStore } from '../../store/port.js';
import type { StartRunOptions } from '../engine-options.js';
import { kindsOfSchedule } from '../trust/run-kinds.js';
import type { SecretProvider } from '../secrets/secret-provider.js';
import { tickInputs } from './schedule-inputs.js';
import { dueTicks } from './schedule-ticks.js';

const DUE_BATCH = 50;
/** How often a worker looks for due ticks. */
export const SCHEDULE_POLL_MS = 1000;

/** What firing schedules reports: a tick skipped by its `skip` concurrency group (the policy working), a failure. */
export interface ScheduleReport {
  skipped: (scheduleId: string, tick: string) => void;
  failed: (error: unknown) => void;
}

const quiet: ScheduleReport = { skipped: () => undefined, failed: () => undefined };

export type StartRun = (
  planDoc: PlanDocument,
  options: StartRunOptions,
) => Promise<{ run: RunDocument; created: boolean }>;

/** The run key of a schedule tick: however many workers create it, the store keeps one run under it. */
export function tickKey(scheduleId: string, tick: string): string {
  return `schedule:${scheduleId}:${tick}`;
}

/**
 * Fires the ticks that are due, on any number of workers at once: each tick's run is created under its tick key
 * (the store's unique idempotency key makes the racing creators agree on one run), and only then is the schedule's
 * next_tick_at moved on, guarded by the value read — a worker killed in between leaves the tick due, and whoever
 * fires it next finds the same run.
 */
export class Scheduler {
  constructor(
    private readonly store: RunStore,
    private readonly startRun: StartRun,
    /** Resolves a schedule's secret_inputs when a tick fires (this process's provider). */
    private readonly secrets: SecretProvider,
    /** What the loop waits on between looks (the engine's clock, so a test can move it on). */
    private readonly clock: Clock = systemClock,
  ) {}

  /** Fires what is due at `now`; returns the runs created by this call. A tick that fails is said, and passed. */
  async fireDue(now: Date, report: ScheduleReport = quiet): Promise<RunDocument[]> {
    const created: RunDocument[] = [];
    for (const schedule of await this.store.dueSchedules(now.toISOString(), DUE_BATCH)) {
      let due;
      try {
        due = dueTicks(schedule, now);
      } catch (error) {
        report.failed(error);
        continue;
      }
      for (const tick of due.fire) {
        try {
          const run = await this.startTick(schedule, tick);
          if (run) created.push(run);
        } catch (error) {
          // A tick whose group is busy under `skip` is skipped, as asked; one that cannot start (its plan is gone,
          // its inputs no longer fit) is reported. Either way it is passed.
          if (isMaestroError(error, 'CONCURRENCY_LIMIT')) report.skipped(schedule.schedule_id, tick);
          else report.failed(error);
        }
      }
      await this.store.updateSchedule(
        schedule.schedule_id,
        { next_tick_at: schedule.next_tick_at },
        { next_tick_at: due.next_tick_at, ...(due.fire.length > 0 ? { last_tick_at: due.fire.at(-1)! } : {}) },
      );
    }
    return created;
  }

  /** Starts the run of one tick (or of a trigger, at `tick`), under the tick's key; undefined when it existed. */
  async startTick(schedule: ScheduleDocument, tick: string, key = tickKey(schedule.schedule_id, tick)) {
    const planDoc = await this.store.getPlan(schedule.plan_id);
    if (!planDoc) throw new Error(`schedule ${schedule.schedule_id}: plan ${schedule.plan_id} is gone`);
    try {
      const { run, created } = await this.startRun(planDoc, {
        inputs: await tickInputs(schedule, this.secrets),
        owner: schedule.owner,
        labels: schedule.labels,
        idempotencyKey: key,
        schedule: { schedule_id: schedule.schedule_id, scheduled_for: tick },
        allowedKinds: kindsOfSchedule(schedule, planDoc),
        ...(schedule.concurrency ? { concurrency: schedule.concurrency } : {}),
      });
      return created ? run : undefined;
    } catch (error) {
      // The tick's run exists, started from another version of the plan: it is the tick's run all the same.
      if (isMaestroError(error, 'IDEMPOTENCY_CONFLICT')) return undefined;
      throw error;
    }
  }

  /** Fires what is due every `everyMs` until the signal aborts; `now` is the scheduler's clock. */
  async loop(signal: AbortSignal, now: () => Date, everyMs: number, report: ScheduleReport): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.fireDue(now(), report);
      } catch (error) {
        report.failed(error);
      }
      // The clock's wait removes its abort listener when it ends: one added per tick and kept leaked them all.
      await sleepOn(this.clock, everyMs, signal);
    }
  }
}
