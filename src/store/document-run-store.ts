import type {
  ArtifactDocument,
  EventDocument,
  PlanDocument,
  RunDocument,
  ScheduleDocument,
  StepDocument,
} from '../generated/schemas.js';
import { isMaestroError } from '../domain/errors.js';
import { RunStatus } from '../domain/status.js';
import { storedRunFilter } from './list-runs-query.js';
import { pageNewestFirst } from './newest-first-page.js';
import type { DocumentCollection, DocumentDriver, Filter } from './document-collection.js';
import type {
  ConcurrencyGroupKey,
  HookFailure,
  LeaseRequest,
  LeaseToken,
  NewEvent,
  Page,
  PageRequest,
  PlanFilter,
  ProvenanceRefs,
  RunDetail,
  RunFilter,
  RunGuard,
  RunPatch,
  RunStore,
  RunTreeRemoval,
  ScheduleGuard,
  SchedulePatch,
  StepGuard,
  StepPatch,
} from './port.js';
import { Collection, fromStored, hookCursorField, toStored } from './stored-form.js';
import { ArtifactDocuments } from './artifact-documents.js';
import { documentBlobStore } from './document-blob-store.js';
import { EventLog } from './event-log.js';
import { GuardedWrites } from './guarded-writes.js';
import { PlanDocuments } from './plan-documents.js';
import { RunRetention } from './run-retention.js';
import { ScheduleDocuments } from './schedule-documents.js';
import { statusAndLeaseFilter, StepDocuments } from './step-documents.js';
import { assertStorable, assertValidDocument } from './validate-document.js';

const unfinishedRunStatuses = [RunStatus.pending, RunStatus.running];

/**
 * The RunStore port implemented once over a DocumentDriver. Each method is one atomic single-document
 * operation, or an ordered idempotent sequence of them; guards make concurrent writers safe.
 */
export class DocumentRunStore implements RunStore {
  readonly backend: string;
  readonly isolatedUpdates: boolean;
  readonly blobs: RunStore['blobs'];
  private readonly runs: DocumentCollection;
  private readonly steps: DocumentCollection;
  private readonly artifactDocs: ArtifactDocuments;
  private readonly guarded: GuardedWrites;
  private readonly retention: RunRetention;
  private readonly scheduleDocs: ScheduleDocuments;
  private readonly planDocs: PlanDocuments;
  private readonly eventLog: EventLog;
  private readonly stepDocs: StepDocuments;

  constructor(private readonly driver: DocumentDriver) {
    this.backend = driver.backend;
    this.isolatedUpdates = driver.atomicUpdates;
    this.blobs = documentBlobStore(driver);
    this.guarded = new GuardedWrites(driver);
    this.stepDocs = new StepDocuments(driver, this.guarded);
    this.runs = driver.collection(Collection.runs);
    this.steps = driver.collection(Collection.steps);
    const artifacts = driver.collection(Collection.artifacts);
    const events = driver.collection(Collection.events);
    this.planDocs = new PlanDocuments(driver.collection(Collection.plans));
    this.artifactDocs = new ArtifactDocuments(artifacts, this.guarded);
    this.eventLog = new EventLog(events);
    this.scheduleDocs = new ScheduleDocuments(driver.collection(Collection.schedules), this.guarded);
    this.retention = new RunRetention({ runs: this.runs, steps: this.steps, events, artifacts }, (collection, filter) =>
      this.guarded.dropClaimGates(collection, filter),
    );
  }

  // ---- plans (one immutable document per version)

  savePlan(plan: PlanDocument): Promise<{ plan: PlanDocument; created: boolean }> {
    return this.planDocs.save(plan);
  }

  findPlanId(owner: string, name: string): Promise<string | undefined> {
    return this.planDocs.findId(owner, name);
  }

  getPlan(planId: string, version?: string): Promise<PlanDocument | undefined> {
    return this.planDocs.get(planId, version);
  }

  listPlans(filter: PlanFilter, page: PageRequest): Promise<Page<PlanDocument>> {
    return this.planDocs.list(filter, page);
  }

  // ---- runs

  async createRun(run: RunDocument, steps: StepDocument[]): Promise<{ run: RunDocument; created: boolean }> {
    assertValidDocument(Collection.runs, run);
    for (const step of steps) assertValidDocument(Collection.steps, step);
    if (run.idempotency_key !== undefined) {
      const existing = await this.runs.findOne({ idempotency_key: run.idempotency_key });
      if (existing) return { run: fromStored(Collection.runs, existing), created: false };
    }
    // Steps first: a run that can be seen always has its steps. A crash in between leaves only
    // unreachable steps under a run id that never appears.
    await this.insertSteps(steps);
    try {
      await this.runs.insertOne({ ...toStored(Collection.runs, run), _id: run.run_id });
      return { run, created: true };
    } catch (error) {
      if (!isMaestroError(error, 'CONFLICT') || run.idempotency_key === undefined) throw error;
      // Another starter with the same idempotency key won the race: drop our steps, return its run.
      await this.steps.deleteMany({ run_id: run.run_id });
      const winner = await this.runs.findOne({ idempotency_key: run.idempotency_key });
      if (!winner) throw error;
      return { run: fromStored(Collection.runs, winner), created: false };
    }
  }

  async getRun(runId: string): Promise<RunDocument | undefined> {
    const found = await this.runs.findOne({ _id: runId });
    return found ? fromStored<RunDocument>(Collection.runs, found) : undefined;
  }

  async getRunDetail(runId: string): Promise<RunDetail | undefined> {
    const run = await this.getRun(runId);
    if (!run) return undefined;
    const [steps, artifacts] = await Promise.all([this.listSteps(runId), this.listArtifacts(runId)]);
    return { run, steps, artifacts };
  }

  async listRuns(filter: RunFilter, page: PageRequest): Promise<Page<RunDocument>> {
    return pageNewestFirst(this.runs, Collection.runs, storedRunFilter(filter), page);
  }

  async updateRun(runId: string, guard: RunGuard, patch: RunPatch): Promise<RunDocument | undefined> {
    assertStorable(patch, 'run update');
    return this.guarded.write(runId, async () => {
      const { duration_ms, ...fields } = patch;
      const set: Record<string, unknown> = toStored(Collection.runs, fields);
      if (duration_ms !== undefined) set['usage.duration_ms'] = duration_ms;
      const updated = await this.guarded.updateWhere(this.runs, runId, statusAndLeaseFilter(guard), { $set: set });
      return updated ? fromStored<RunDocument>(Collection.runs, updated) : undefined;
    });
  }

  async claimRun(runId: string | undefined, lease: LeaseRequest, skip: readonly string[] = []) {
    const filter: Filter = {
      status: { $in: unfinishedRunStatuses },
      $or: [{ lease: { $exists: false } }, { 'lease.expires_at': { $lt: new Date(lease.now) } }],
    };
    if (runId !== undefined || skip.length > 0) filter._id = runId ?? { $nin: [...skip] };
    const update = {
      $set: { 'lease.owner': lease.owner, 'lease.expires_at': new Date(lease.expires_at) },
      $inc: { 'lease.fence': 1 },
    };
    const claimed = this.driver.atomicUpdates
      ? await this.runs.findOneAndUpdate(filter, update, { created_at: 1, _id: 1 })
      : await this.guarded.claimThroughGate(this.runs, filter, update, lease, { created_at: 1, _id: 1 }, true);
    return claimed ? fromStored<RunDocument>(Collection.runs, claimed) : undefined;
  }

  renewRunLease(runId: string, token: LeaseToken, expiresAt: string): Promise<boolean> {
    return this.setRunLeaseExpiry(runId, token, new Date(expiresAt));
  }

  /** The lease ends now (expired), so any runner may claim the run at once; its fence stays. */
  releaseRunLease(runId: string, token: LeaseToken): Promise<boolean> {
    return this.setRunLeaseExpiry(runId, token, new Date(0));
  }

  private setRunLeaseExpiry(runId: string, token: LeaseToken, expiresAt: Date): Promise<boolean> {
    return this.guarded.write(runId, async () => {
      const lease = { 'lease.owner': token.owner, 'lease.fence': token.fence };
      const updated = await this.guarded.updateWhere(this.runs, runId, lease, {
        $set: { 'lease.expires_at': expiresAt },
      });
      return updated !== undefined;
    });
  }

  async addRunCost(runId: string, cost: number): Promise<RunDocument | undefined> {
    return this.guarded.write(runId, async () => {
      const updated = await this.runs.findOneAndUpdate({ _id: runId }, { $inc: { 'usage.cost': cost } });
      return updated ? fromStored<RunDocument>(Collection.runs, updated) : undefined;
    });
  }

  async addRunProvenance(runId: string, refs: ProvenanceRefs): Promise<void> {
    return this.guarded.write(runId, async () => {
      const addToSet: Record<string, unknown> = {};
      for (const [field, values] of Object.entries(refs)) {
        if (Array.isArray(values) && values.length > 0) addToSet[`provenance.${field}`] = { $each: values };
      }
      if (Object.keys(addToSet).length > 0) await this.runs.updateOne({ _id: runId }, { $addToSet: addToSet });
    });
  }

  async recordHookDelivery(runId: string, hook: string, seq: number): Promise<void> {
    return this.guarded.write(runId, async () => {
      await this.runs.updateOne({ _id: runId }, { $max: { [hookCursorField(hook)]: seq } });
    });
  }

  async recordHookFailure(runId: string, failure: HookFailure): Promise<void> {
    return this.guarded.write(runId, async () => {
      await this.runs.updateOne({ _id: runId }, { $push: { hook_failures: { ...failure, at: new Date(failure.at) } } });
    });
  }

  // ---- steps

  insertSteps(steps: StepDocument[]): Promise<void> {
    return this.stepDocs.insert(steps);
  }

  listSteps(runId: string): Promise<StepDocument[]> {
    return this.stepDocs.list(runId);
  }

  getStep(stepId: string): Promise<StepDocument | undefined> {
    return this.stepDocs.get(stepId);
  }

  claimStep(stepId: string, lease: LeaseRequest): Promise<StepDocument | undefined> {
    return this.stepDocs.claim(stepId, lease);
  }

  renewStepLease(stepId: string, token: LeaseToken, expiresAt: string): Promise<boolean> {
    return this.stepDocs.renewLease(stepId, token, expiresAt);
  }

  updateStep(stepId: string, guard: StepGuard, patch: StepPatch): Promise<StepDocument | undefined> {
    return this.stepDocs.update(stepId, guard, patch);
  }

  listOfferedSteps(limit: number): Promise<StepDocument[]> {
    return this.stepDocs.listOffered(limit);
  }

  // ---- artifacts

  attachArtifact(artifact: ArtifactDocument): Promise<ArtifactDocument> {
    return this.artifactDocs.attach(artifact);
  }

  setArtifactProvenance(
    artifactId: string,
    refs: { claim_ledger_ref?: string; intelgraph_entity_ids?: string[] },
  ): Promise<void> {
    return this.artifactDocs.setProvenance(artifactId, refs);
  }

  listArtifacts(runId: string): Promise<ArtifactDocument[]> {
    return this.artifactDocs.list(runId);
  }

  // ---- events

  appendEvent(event: NewEvent, eventId?: string): Promise<EventDocument> {
    return this.eventLog.append(event, eventId);
  }

  appendEvents(batch: ReadonlyArray<{ event: NewEvent; eventId: string }>): Promise<EventDocument[]> {
    return this.eventLog.appendMany(batch);
  }

  listEvents(runId: string, afterSeq: number, limit: number): Promise<EventDocument[]> {
    return this.eventLog.list(runId, afterSeq, limit);
  }

  lastEvent(runId: string): Promise<EventDocument | undefined> {
    return this.eventLog.last(runId);
  }

  async listUnfinishedRunsInGroup({ owner, group }: ConcurrencyGroupKey): Promise<RunDocument[]> {
    const found = await this.runs.find(
      { 'concurrency.group': group, owner, status: { $in: unfinishedRunStatuses } },
      { sort: { created_at: 1, _id: 1 } },
    );
    return found.map((doc) => fromStored<RunDocument>(Collection.runs, doc));
  }

  // ---- schedules (one collection of their own)

  createSchedule(schedule: ScheduleDocument): Promise<{ schedule: ScheduleDocument; created: boolean }> {
    return this.scheduleDocs.create(schedule);
  }

  getSchedule(scheduleId: string): Promise<ScheduleDocument | undefined> {
    return this.scheduleDocs.get(scheduleId);
  }

  getScheduleByPlanKey(planKey: string): Promise<ScheduleDocument | undefined> {
    return this.scheduleDocs.byPlanKey(planKey);
  }

  listSchedules(filter: { owner?: string }, page: PageRequest): Promise<Page<ScheduleDocument>> {
    return this.scheduleDocs.list(filter, page);
  }

  dueSchedules(now: string, limit: number): Promise<ScheduleDocument[]> {
    return this.scheduleDocs.due(now, limit);
  }

  updateSchedule(
    scheduleId: string,
    guard: ScheduleGuard,
    patch: SchedulePatch,
  ): Promise<ScheduleDocument | undefined> {
    return this.scheduleDocs.update(scheduleId, guard, patch);
  }

  deleteSchedule(scheduleId: string): Promise<boolean> {
    return this.scheduleDocs.delete(scheduleId);
  }

  // ---- retention

  listEndedRootRuns(
    endedBefore: string,
    statuses: readonly string[],
    limit: number,
    after?: RunDocument,
  ): Promise<RunDocument[]> {
    return this.retention.endedRootRuns(endedBefore, statuses, limit, after);
  }

  removeRunTree(rootRunId: string, dryRun: boolean): Promise<RunTreeRemoval> {
    return this.retention.removeTree(rootRunId, dryRun, this.blobs);
  }

  ping(): Promise<void> {
    return this.driver.ping();
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
