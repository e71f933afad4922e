import type { AllowedKinds, PlanDocument, RunConcurrency, ScheduleDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { Page, PageRequest, RunStore } from '../../store/port.js';
import { checkScheduleInputs, type PlanInputs } from './schedule-inputs.js';
import { assertMinInterval, cronOf, nextTick } from './schedule-ticks.js';
import { Scheduler } from './scheduler.js';

export interface ScheduleRequest {
  plan_id: string;
  cron: string;
  timezone?: string;
  name?: string;
  inputs?: Record<string, unknown>;
  /** Write-only inputs by the name of the secret a tick resolves them from (their values are never stored). */
  secret_inputs?: Record<string, string>;
  labels?: Record<string, string>;
  catchup?: ScheduleDocument['catchup'];
  catchup_limit?: number;
  paused?: boolean;
  concurrency?: RunConcurrency;
  owner: string;
  /** A plan file's schedule: one per owner and plan name, kept by `plans apply`. */
  plan_key?: string;
  /** The step kinds its runs may execute: the API's for a schedule created over it. Default `all`. */
  allowed_kinds?: AllowedKinds;
  /** Ticks may come no closer than this (the API's minimum interval); none when absent. */
  minIntervalMs?: number;
}

/**
 * Schedules as people and the API manage them: created with their cron, time zone and inputs checked against the
 * plan, paused and resumed (a resumed schedule goes on from now: the ticks of a pause are not missed ones),
 * triggered by hand, deleted.
 */
export class ScheduleService {
  constructor(
    private readonly store: RunStore,
    /** The scheduler's time: the engine's clock, or a test's simulated one. */
    private readonly now: () => Date,
    private readonly scheduler: Scheduler,
    /** The plan's inputs: their check, and which are write-only. */
    private readonly planInputs: (planDoc: PlanDocument) => PlanInputs,
  ) {}

  async create(request: ScheduleRequest): Promise<{ schedule: ScheduleDocument; created: boolean }> {
    const timezone = request.timezone ?? 'UTC';
    const cron = cronOf(request.cron, timezone);
    const planDoc = await this.store.getPlan(request.plan_id);
    if (!planDoc)
      throw new MaestroError('PLAN_NOT_FOUND', `no plan ${request.plan_id}`, { details: { path: '$.plan_id' } });
    const inputs = request.inputs ?? {};
    const secretInputs = request.secret_inputs ?? {};
    checkScheduleInputs(this.planInputs(planDoc), inputs, secretInputs);
    const now = this.now();
    if (request.minIntervalMs !== undefined) assertMinInterval(cron, request.minIntervalMs, now);
    const schedule: ScheduleDocument = {
      schedule_id: newId(),
      name: request.name ?? planDoc.name,
      owner: request.owner,
      plan_id: planDoc.plan_id,
      cron: request.cron,
      timezone,
      inputs,
      ...(Object.keys(secretInputs).length > 0 ? { secret_inputs: secretInputs } : {}),
      labels: request.labels ?? {},
      catchup: request.catchup ?? 'skip',
      catchup_limit: request.catchup_limit ?? 10,
      paused: request.paused ?? false,
      created_at: now.toISOString(),
      next_tick_at: nextTick(cron, now).toISOString(),
      ...(request.plan_key ? { plan_key: request.plan_key } : {}),
      allowed_kinds: request.allowed_kinds ?? 'all',
      ...(request.concurrency ? { concurrency: request.concurrency } : {}),
    };
    return this.store.createSchedule(schedule);
  }

  /**
   * The schedule a plan file's `schedule` block asks for: one per owner and plan name, created on the first apply
   * and brought up to date (newest plan version, cron, inputs…) on the next; a block removed leaves it as it was.
   */
  async applyPlanSchedule(planDoc: PlanDocument): Promise<ScheduleDocument | undefined> {
    const block = planDoc.steps_spec.schedule;
    if (!block) return undefined;
    const planKey = `${planDoc.owner}:${planDoc.name}`;
    const request = {
      plan_id: planDoc.plan_id,
      cron: block.cron,
      timezone: block.timezone ?? 'UTC',
      inputs: block.inputs ?? {},
      labels: block.labels ?? {},
      catchup: block.catchup ?? 'skip',
      catchup_limit: block.catchup_limit ?? 10,
      paused: block.paused ?? false,
    };
    const existing = await this.store.getScheduleByPlanKey(planKey);
    if (!existing) return (await this.create({ ...request, owner: planDoc.owner, plan_key: planKey })).schedule;
    const cron = cronOf(request.cron, request.timezone);
    checkScheduleInputs(this.planInputs(planDoc), request.inputs, {});
    const timing = existing.cron !== request.cron || existing.timezone !== request.timezone;
    const patch = { ...request, ...(timing ? { next_tick_at: nextTick(cron, this.now()).toISOString() } : {}) };
    return (await this.store.updateSchedule(existing.schedule_id, {}, patch)) ?? existing;
  }

  async get(scheduleId: string): Promise<ScheduleDocument> {
    const schedule = await this.store.getSchedule(scheduleId);
    if (!schedule)
      throw new MaestroError('SCHEDULE_NOT_FOUND', `no schedule ${scheduleId}`, { details: { path: '$.schedule_id' } });
    return schedule;
  }

  list(owner: string | undefined, page: PageRequest): Promise<Page<ScheduleDocument>> {
    return this.store.listSchedules(owner === undefined ? {} : { owner }, page);
  }

  async setPaused(scheduleId: string, paused: boolean): Promise<ScheduleDocument> {
    const schedule = await this.get(scheduleId);
    const patch = paused
      ? { paused }
      : {
          paused,
          next_tick_at: nextTick(cronOf(schedule.cron, schedule.timezone), this.now()).toISOString(),
        };
    return (await this.store.updateSchedule(scheduleId, {}, patch)) ?? this.get(scheduleId);
  }

  async delete(scheduleId: string): Promise<void> {
    await this.get(scheduleId);
    await this.store.deleteSchedule(scheduleId);
  }

  /** A run now, outside the cron (paused or not), recorded as the schedule's with scheduled_for = now. */
  async trigger(scheduleId: string) {
    const schedule = await this.get(scheduleId);
    const now = this.now().toISOString();
    const run = await this.scheduler.startTick(schedule, now, `schedule:${scheduleId}:trigger:${newId()}`);
    if (!run) throw new MaestroError('CONFLICT', `schedule ${scheduleId} was triggered twice at once`);
    return run;
  }
}
