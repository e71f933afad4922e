import type { ScheduleDocument } from '../generated/schemas.js';
import { isMaestroError } from '../domain/errors.js';
import type { DocumentCollection, Filter } from './document-collection.js';
import type { GuardedWrites } from './guarded-writes.js';
import { pageNewestFirst } from './newest-first-page.js';
import type { Page, PageRequest, ScheduleGuard, SchedulePatch } from './port.js';
import { Collection, fromStored, toStored } from './stored-form.js';
import { assertValidDocument } from './validate-document.js';

const fromDoc = (doc: Record<string, unknown>) => fromStored<ScheduleDocument>(Collection.schedules, doc);

/** The schedules collection: one document per schedule, changed by guarded single-document writes only. */
export class ScheduleDocuments {
  constructor(
    private readonly schedules: DocumentCollection,
    private readonly guarded: GuardedWrites,
  ) {}

  /** A new schedule; one with the same plan_key (a plan file's) is returned instead, unchanged. */
  async create(schedule: ScheduleDocument): Promise<{ schedule: ScheduleDocument; created: boolean }> {
    assertValidDocument(Collection.schedules, schedule);
    try {
      await this.schedules.insertOne({ ...toStored(Collection.schedules, schedule), _id: schedule.schedule_id });
      return { schedule, created: true };
    } catch (error) {
      if (!isMaestroError(error, 'CONFLICT') || schedule.plan_key === undefined) throw error;
      const existing = await this.schedules.findOne({ plan_key: schedule.plan_key });
      if (!existing) throw error;
      return { schedule: fromDoc(existing), created: false };
    }
  }

  async get(scheduleId: string): Promise<ScheduleDocument | undefined> {
    const found = await this.schedules.findOne({ _id: scheduleId });
    return found ? fromDoc(found) : undefined;
  }

  async byPlanKey(planKey: string): Promise<ScheduleDocument | undefined> {
    const found = await this.schedules.findOne({ plan_key: planKey });
    return found ? fromDoc(found) : undefined;
  }

  list(filter: { owner?: string }, page: PageRequest): Promise<Page<ScheduleDocument>> {
    const query: Filter = filter.owner === undefined ? {} : { owner: filter.owner };
    return pageNewestFirst(this.schedules, Collection.schedules, query, page);
  }

  /** Unpaused schedules whose next tick is due, the most overdue first. */
  async due(now: string, limit: number): Promise<ScheduleDocument[]> {
    const found = await this.schedules.find(
      { paused: false, next_tick_at: { $lte: new Date(now) } },
      { sort: { next_tick_at: 1, _id: 1 }, limit },
    );
    return found.map(fromDoc);
  }

  /** Applies the patch when the guard holds (a worker moving next_tick_at on from the value it read). */
  async update(scheduleId: string, guard: ScheduleGuard, patch: SchedulePatch): Promise<ScheduleDocument | undefined> {
    const filter: Filter = {};
    if (guard.next_tick_at !== undefined) filter.next_tick_at = new Date(guard.next_tick_at);
    return this.guarded.write(scheduleId, async () => {
      const updated = await this.guarded.updateWhere(this.schedules, scheduleId, filter, {
        $set: toStored(Collection.schedules, patch),
      });
      return updated ? fromDoc(updated) : undefined;
    });
  }

  async delete(scheduleId: string): Promise<boolean> {
    return (await this.schedules.deleteMany({ _id: scheduleId })) > 0;
  }
}
