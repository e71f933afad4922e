/**
 * The store port: the domain operations Maestro needs from a document store, and nothing generic.
 * Every operation is one atomic single-document write, or an ordered idempotent sequence of them,
 * so no adapter needs multi-document transactions. Documents use the wire form (ISO-8601 strings);
 * adapters store real dates and convert at their edge.
 */
import type {
  ArtifactDocument,
  EventDocument,
  PlanDocument,
  RunDocument,
  ScheduleDocument,
  StepDocument,
} from '../generated/schemas.js';
import type { RunStatus, StepStatus } from '../domain/status.js';
import type { BlobStore } from './blob-port.js';

export type { BlobRef, BlobStore, LogAddress, LogChunk } from './blob-port.js';

export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor of the next page; absent on the last page. */
  next_cursor?: string;
}

export interface RunFilter {
  status?: RunStatus;
  owner?: string;
  plan_id?: string;
  /** The child runs of one run. */
  parent_run_id?: string;
  /** Inclusive lower bound (ISO-8601). */
  created_after?: string;
  /** Exclusive upper bound (ISO-8601). */
  created_before?: string;
}

/** A schedule write holds only while next_tick_at is still what the writer read. */
export interface ScheduleGuard {
  next_tick_at?: string;
}

export type SchedulePatch = Partial<
  Pick<
    ScheduleDocument,
    | 'next_tick_at'
    | 'last_tick_at'
    | 'paused'
    | 'cron'
    | 'timezone'
    | 'inputs'
    | 'labels'
    | 'catchup'
    | 'catchup_limit'
    | 'plan_id'
  >
>;

/** What removing one run tree removed (or would remove), counted per collection. */
export interface RunTreeRemoval {
  run_ids: string[];
  removed: { runs: number; steps: number; events: number; artifacts: number };
}

export interface PlanFilter {
  owner?: string;
  name?: string;
  /** The versions of one plan. */
  plan_id?: string;
}

export interface RunDetail {
  run: RunDocument;
  steps: StepDocument[];
  artifacts: ArtifactDocument[];
}

/** Asking for a lease: who, until when. The fence is chosen by the store. */
export interface LeaseRequest {
  owner: string;
  now: string;
  expires_at: string;
}

/** Proof of holding a lease: every write under it filters on both. */
export interface LeaseToken {
  owner: string;
  fence: number;
}

/** Fields a run may change after creation; anything else is fixed when the run is created. */
export type RunPatch = Partial<
  Pick<
    RunDocument,
    'status' | 'started_at' | 'ended_at' | 'outputs' | 'error_info' | 'cancel_requested_at' | 'traceparent'
  >
> & { duration_ms?: number };

/** A concurrency group's identity: the owner of its runs and the group's name. */
export interface ConcurrencyGroupKey {
  owner: string;
  group: string;
}

/** Preconditions of a run update (optimistic concurrency): it applies only when they all hold. */
export interface RunGuard {
  statusIn?: readonly RunStatus[];
  lease?: LeaseToken;
}

export type StepPatch = Partial<
  Pick<
    StepDocument,
    | 'status'
    | 'started_at'
    | 'ended_at'
    | 'ready_at'
    | 'logs_ref'
    | 'error_info'
    | 'outputs'
    | 'cost'
    | 'child_run_id'
    | 'skip_reason'
    | 'max_attempts'
    | 'offered_at'
    | 'attempt_result'
  >
> & { lease?: StepDocument['lease'] };

export interface StepGuard {
  statusIn?: readonly StepStatus[];
  lease?: LeaseToken;
}

export interface ProvenanceRefs {
  intelgraph_entity_ids?: string[];
  claim_ledger_manifest_ids?: string[];
  claim_ledger_manifest_paths?: string[];
}

export interface HookFailure {
  hook: string;
  seq: number;
  message: string;
  at: string;
}

export type NewEvent = Omit<EventDocument, 'seq' | 'event_id'>;

export interface RunStore {
  /** What this store runs on, e.g. `sqlite (memory)`, `mongodb (FerretDB 1.24)`. */
  readonly backend: string;
  /**
   * False on servers whose single-document updates are not isolated (FerretDB 1.x). Claims stay exclusive
   * there (gated by unique inserts), but concurrent `addRunCost` calls on one run must be serialized by the caller.
   */
  readonly isolatedUpdates: boolean;
  /**
   * The data plane: artifact bytes and step logs, stored so that any machine reads them. A property, not an
   * operation: the outage-retry and timing wrappers leave it as it is (a consumed stream cannot be retried).
   */
  readonly blobs: BlobStore;

  // Plans: one document per version, keyed by plan_id + version (sha256 of the canonical spec).
  /** Idempotent: saving a version that exists returns the stored one with created=false. */
  savePlan(plan: PlanDocument): Promise<{ plan: PlanDocument; created: boolean }>;
  /** The plan_id already used by owner + name, if any. */
  findPlanId(owner: string, name: string): Promise<string | undefined>;
  /** A version, or the newest version when none is given. */
  getPlan(planId: string, version?: string): Promise<PlanDocument | undefined>;
  /** Newest first. */
  listPlans(filter: PlanFilter, page: PageRequest): Promise<Page<PlanDocument>>;

  // Runs
  /**
   * Writes the steps, then the run (so a visible run always has its steps). With an idempotency key that
   * an existing run holds, nothing is written and that run is returned with created=false.
   */
  createRun(run: RunDocument, steps: StepDocument[]): Promise<{ run: RunDocument; created: boolean }>;
  getRun(runId: string): Promise<RunDocument | undefined>;
  getRunDetail(runId: string): Promise<RunDetail | undefined>;
  /** Newest first by created_at, ties by run_id; the cursor is stable while runs are inserted. */
  listRuns(filter: RunFilter, page: PageRequest): Promise<Page<RunDocument>>;
  /** Applies the patch only when the guard holds; returns the updated run, or undefined when it did not hold. */
  updateRun(runId: string, guard: RunGuard, patch: RunPatch): Promise<RunDocument | undefined>;
  /**
   * Claims the lease of one run (or of any unfinished run whose lease is free or expired, oldest first, but for the
   * runs in `skip`: those a runner has declined).
   */
  claimRun(runId: string | undefined, lease: LeaseRequest, skip?: readonly string[]): Promise<RunDocument | undefined>;
  renewRunLease(runId: string, token: LeaseToken, expiresAt: string): Promise<boolean>;
  /** Lets the lease go at once (expires it), so any runner may claim the run. */
  releaseRunLease(runId: string, token: LeaseToken): Promise<boolean>;
  /** Adds to the run's usage.cost (costs only grow). */
  addRunCost(runId: string, cost: number): Promise<RunDocument | undefined>;
  addRunProvenance(runId: string, refs: ProvenanceRefs): Promise<void>;
  /** Moves the hook's delivery cursor forward (never back). */
  recordHookDelivery(runId: string, hook: string, seq: number): Promise<void>;
  recordHookFailure(runId: string, failure: HookFailure): Promise<void>;

  // Steps
  /** Idempotent per (run_id, key): steps that exist are left as they are. */
  insertSteps(steps: StepDocument[]): Promise<void>;
  listSteps(runId: string): Promise<StepDocument[]>;
  getStep(stepId: string): Promise<StepDocument | undefined>;
  /**
   * Atomically claims a step for execution: a pending step whose ready_at has passed (attempt + 1), or a
   * running step whose lease expired (same attempt, taken over). The fence grows by one. Exactly one claimant wins.
   */
  claimStep(stepId: string, lease: LeaseRequest): Promise<StepDocument | undefined>;
  renewStepLease(stepId: string, token: LeaseToken, expiresAt: string): Promise<boolean>;
  /** Applies the patch only when the guard holds; returns the updated step, or undefined when it did not hold. */
  updateStep(stepId: string, guard: StepGuard, patch: StepPatch): Promise<StepDocument | undefined>;
  /**
   * The oldest steps offered to any runner (`offered_at` set by their run's driver: they wait for a runner whose
   * labels fit, or for a free slot anywhere), at most `limit`; a runner claims one with claimStep.
   */
  listOfferedSteps(limit: number): Promise<StepDocument[]>;

  // Artifacts
  attachArtifact(artifact: ArtifactDocument): Promise<ArtifactDocument>;
  setArtifactProvenance(
    artifactId: string,
    refs: { claim_ledger_ref?: string; intelgraph_entity_ids?: string[] },
  ): Promise<void>;
  listArtifacts(runId: string): Promise<ArtifactDocument[]>;

  // Events
  /**
   * Stores the event with the run's next seq (gap-free: 1, 2, 3, ...) and returns it. Repeating a call with the
   * same event id (after a lost answer) returns the stored event instead of writing it twice.
   */
  appendEvent(event: NewEvent, eventId?: string): Promise<EventDocument>;
  /**
   * Several events of one run, in this order, as appendEvent would store them one after another, in one write where
   * the store allows it. Each needs its id, so that a repeat after a lost answer finds the ones already stored.
   */
  appendEvents(batch: ReadonlyArray<{ event: NewEvent; eventId: string }>): Promise<EventDocument[]>;
  /** Events with seq > afterSeq, in seq order. */
  listEvents(runId: string, afterSeq: number, limit: number): Promise<EventDocument[]>;
  /** The run's event with the highest seq, if it has any. */
  lastEvent(runId: string): Promise<EventDocument | undefined>;

  /**
   * The unfinished runs of a concurrency group, oldest first. A group is its owner's: another owner's group of the
   * same name is another group.
   */
  listUnfinishedRunsInGroup(group: ConcurrencyGroupKey): Promise<RunDocument[]>;

  // Schedules
  /** A new schedule; with the plan_key of an existing one (a plan file's schedule), that one, unchanged. */
  createSchedule(schedule: ScheduleDocument): Promise<{ schedule: ScheduleDocument; created: boolean }>;
  getSchedule(scheduleId: string): Promise<ScheduleDocument | undefined>;
  getScheduleByPlanKey(planKey: string): Promise<ScheduleDocument | undefined>;
  listSchedules(filter: { owner?: string }, page: PageRequest): Promise<Page<ScheduleDocument>>;
  /** Unpaused schedules with a tick due at `now`, the most overdue first. */
  dueSchedules(now: string, limit: number): Promise<ScheduleDocument[]>;
  /** Applies the patch only when the guard holds; returns the updated schedule, or undefined when it did not hold. */
  updateSchedule(scheduleId: string, guard: ScheduleGuard, patch: SchedulePatch): Promise<ScheduleDocument | undefined>;
  deleteSchedule(scheduleId: string): Promise<boolean>;

  // Retention
  /**
   * Root runs (no parent) that ended before the cutoff, with one of `statuses` (any ended one when empty), oldest
   * first; `after` (a run of the previous page) pages on.
   */
  listEndedRootRuns(
    endedBefore: string,
    statuses: readonly string[],
    limit: number,
    after?: RunDocument,
  ): Promise<RunDocument[]>;
  /**
   * Removes an ended root run with its child runs and their steps, events and artifacts (the root last, so a removal
   * cut short is found again); with `dryRun`, only counts them. CONFLICT when a run of the tree has not ended.
   */
  removeRunTree(rootRunId: string, dryRun: boolean): Promise<RunTreeRemoval>;

  /** Throws STORE_UNAVAILABLE when the store does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
