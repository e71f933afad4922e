/* eslint-disable */
/**
 * Generated from schemas/ by `npm run gen:types` (json-schema-to-typescript).
 * Do not edit by hand: change the schema and regenerate.
 */

/**
 * The step kinds a run may execute, as whatever created it allowed them: `all` (the CLI, a plan file's schedule, code), or a list (the API's --allow-kinds; `shell` stands for exec with shell: true). Every runner executes only the kinds both this and its own --allow-kinds allow.
 */
export type AllowedKinds = 'all' | string[];
/**
 * The labels of every leaf step that does not set its own runs_on.
 *
 * @maxItems 20
 */
export type RunsOn = string[];
/**
 * Labels a runner must all have to execute this step (maestro worker --labels); none: any runner.
 *
 * @maxItems 20
 */
export type RunsOn1 = string[];
/**
 * The step kinds a run may execute, as whatever created it allowed them: `all` (the CLI, a plan file's schedule, code), or a list (the API's --allow-kinds; `shell` stands for exec with shell: true). Every runner executes only the kinds both this and its own --allow-kinds allow.
 */
export type AllowedKinds1 = 'all' | string[];
/**
 * The step kinds a run may execute, as whatever created it allowed them: `all` (the CLI, a plan file's schedule, code), or a list (the API's --allow-kinds; `shell` stands for exec with shell: true). Every runner executes only the kinds both this and its own --allow-kinds allow.
 */
export type AllowedKinds2 = 'all' | string[];

export interface MaestroSchemas {
  'allowed-kinds.schema.json'?: AllowedKinds;
  'api/attach-artifact.schema.json'?: AttachArtifactRequest;
  'api/create-plan.schema.json'?: CreatePlanRequest;
  'api/create-schedule.schema.json'?: CreateScheduleRequest;
  'api/event-page.schema.json'?: EventPage;
  'api/list-events-query.schema.json'?: ListEventsQuery;
  'api/list-plans-query.schema.json'?: ListPlansQuery;
  'api/list-runs-query.schema.json'?: ListRunsQuery;
  'api/list-schedules-query.schema.json'?: ListSchedulesQuery;
  'api/plan-created.schema.json'?: PlanCreated;
  'api/plan-page.schema.json'?: PlanPage;
  'api/principal.schema.json'?: Principal;
  'api/problem.schema.json'?: Problem;
  'api/provenance-check.schema.json'?: ProvenanceCheck;
  'api/rerun.schema.json'?: RerunRequest;
  'api/run-detail.schema.json'?: RunDetail;
  'api/run-page.schema.json'?: RunPage;
  'api/schedule-page.schema.json'?: SchedulePage;
  'api/start-run.schema.json'?: StartRunRequest;
  'api/step-log-query.schema.json'?: StepLogQuery;
  'api/update-step.schema.json'?: UpdateStepRequest;
  'artifact.schema.json'?: ArtifactDocument;
  'budget.schema.json'?: Budget;
  'error-info.schema.json'?: ErrorInfo;
  'event-data.schema.json'?: EventDataByType;
  'event.schema.json'?: EventDocument;
  'lease.schema.json'?: Lease;
  'log-chunk.schema.json'?: LogChunkDocument;
  'plan-document.schema.json'?: PlanDocument;
  'plan.schema.json'?: Plan;
  'retry.schema.json'?: RetryPolicy;
  'run-concurrency.schema.json'?: RunConcurrency;
  'run.schema.json'?: RunDocument;
  'schedule.schema.json'?: ScheduleDocument;
  'step.schema.json'?: StepDocument;
  'steps/exec.schema.json'?: ExecWith;
  'steps/handler.schema.json'?: HandlerWith;
  'steps/http.schema.json'?: HttpWith;
  'steps/manual.schema.json'?: ManualWith;
  'steps/noop.schema.json'?: NoopWith;
  'steps/plan.schema.json'?: PlanWith;
  'steps/sleep.schema.json'?: SleepWith;
}
export interface AttachArtifactRequest {
  step_id?: string;
  type: 'document' | 'report' | 'model' | 'dataset' | 'disclosure_pack';
  name: string;
  location: string;
  digest?: {
    sha256: string;
  };
  size_bytes?: number;
  media_type?: string;
  /**
   * @maxItems 100
   */
  intelgraph_entity_ids?: string[];
  metadata?: {
    [k: string]: unknown;
  };
}
export interface CreatePlanRequest {
  plan: Plan;
}
/**
 * A Maestro plan file: a DAG of steps checked into a repository as JSON.
 */
export interface Plan {
  $schema?: string;
  /**
   * Lower-case name; with owner it identifies the plan.
   */
  name: string;
  description?: string;
  owner?: string;
  labels?: Labels;
  /**
   * A JSON Schema that run inputs are validated against before the run is created.
   */
  inputs?: {
    [k: string]: unknown;
  };
  /**
   * Run outputs; values may be ${{ }} expressions over steps.
   */
  outputs?: {
    [k: string]: unknown;
  };
  budget?: Budget;
  /**
   * A number: how many steps of one run may run at once. An object: that (`steps`), and how runs of this plan share a concurrency group.
   */
  concurrency?: number | RunConcurrency;
  defaults?: {
    runs_on?: RunsOn;
    timeout_ms?: number;
    retry?: RetryPolicy;
    continue_on_error?: boolean;
  };
  /**
   * @maxItems 50
   */
  hooks?: string[];
  /**
   * Names of the secrets this plan's steps read as ${{ secrets.NAME }} (in with and with.env only). Values come from the runner's secret provider at attempt time and are never stored.
   *
   * @maxItems 100
   */
  secrets?: string[];
  /**
   * Variables of the runner's environment that exec steps also get (by default they get only PATH, HOME, LANG, TZ, the MAESTRO_* variables Maestro sets for the step, and with.env).
   *
   * @maxItems 100
   */
  env_passthrough?: string[];
  /**
   * Run this plan on a cron: `maestro plans apply` keeps one schedule per owner and plan name from it.
   */
  schedule?: {
    cron: string;
    timezone?: string;
    inputs?: {
      [k: string]: unknown;
    };
    labels?: {
      [k: string]: string;
    };
    catchup?: 'skip' | 'one' | 'all';
    catchup_limit?: number;
    paused?: boolean;
  };
  /**
   * @minItems 1
   * @maxItems 20000
   */
  steps: PlanStep[];
}
export interface Labels {
  [k: string]: string;
}
export interface Budget {
  /**
   * Wall-time bound of the run.
   */
  max_duration_ms?: number;
  /**
   * Bound on the sum of the costs steps (and child runs) report.
   */
  max_cost?: number;
  /**
   * audit records the crossing (budget.exceeded event) but does not stop the run.
   */
  mode?: 'enforce' | 'audit';
}
/**
 * At most `limit` runs of one group go on at once, across every runner. The group may hold ${{ inputs.* }} expressions, so each environment (say) is a group of its own.
 */
export interface RunConcurrency {
  group: string;
  limit?: number;
  /**
   * When the group is full: wait for a slot in creation order, cancel the older runs, or start nothing.
   */
  on_conflict?: 'queue' | 'cancel_in_progress' | 'skip';
  /**
   * How many steps of one run may run at once.
   */
  steps?: number;
}
export interface RetryPolicy {
  max_attempts?: number;
  backoff_ms?: number;
  backoff_factor?: number;
  max_backoff_ms?: number;
}
/**
 * A step runs one kind (uses) or groups nested steps (steps), never both.
 */
export interface PlanStep {
  id: string;
  name?: string;
  /**
   * The step kind: exec, http, handler, plan, manual, noop, sleep, or a registered one.
   */
  uses?: string;
  /**
   * Arguments of the step kind, validated against schemas/steps/<uses>.schema.json once expressions are resolved (statically when it holds none).
   */
  with?: {
    [k: string]: unknown;
  };
  /**
   * @maxItems 20000
   */
  needs?: string[];
  if?: string;
  foreach?: string | unknown[];
  /**
   * @minItems 1
   * @maxItems 10000
   */
  steps?: PlanStep[];
  retry?: RetryPolicy;
  timeout_ms?: number;
  continue_on_error?: boolean;
  runs_on?: RunsOn1;
  /**
   * @maxItems 100
   */
  artifacts?: ArtifactSpec[];
  /**
   * Artifact files of upstream steps written into this step's workspace, from the store, before it starts (on whichever runner it runs).
   *
   * @maxItems 100
   */
  artifacts_in?: ArtifactInput[];
}
/**
 * A file (path, inside the workspace) or a URL the step produced: one of the two.
 */
export interface ArtifactSpec {
  type: 'document' | 'report' | 'model' | 'dataset' | 'disclosure_pack';
  name?: string;
  /**
   * Relative to the workspace; may not escape it.
   */
  path?: string;
  url?: string;
  media_type?: string;
}
/**
 * An upstream step's artifact file, checked against its sha256 as it is written into the workspace.
 */
export interface ArtifactInput {
  /**
   * The id of the producing step: one this step needs, directly or through the steps it needs (or one its group needs).
   */
  step: string;
  /**
   * The name of a file artifact the producing step declares (its name, or the last part of its path).
   */
  name: string;
  /**
   * Where the file is written, relative to the workspace; no part of it may start with a dot.
   */
  path: string;
}
export interface CreateScheduleRequest {
  plan_id: string;
  cron: string;
  timezone?: string;
  name?: string;
  inputs?: {
    [k: string]: unknown;
  };
  /**
   * Write-only inputs of the plan, by input name, given as the name of a secret: the worker that fires a tick resolves it with its secret provider, and the run holds the value as a write-only input. A schedule never stores a write-only value.
   */
  secret_inputs?: {
    [k: string]: string;
  };
  labels?: {
    [k: string]: string;
  };
  catchup?: 'skip' | 'one' | 'all';
  catchup_limit?: number;
  concurrency?: RunConcurrency1;
  paused?: boolean;
}
/**
 * At most `limit` runs of one group go on at once, across every runner. The group may hold ${{ inputs.* }} expressions, so each environment (say) is a group of its own.
 */
export interface RunConcurrency1 {
  group: string;
  limit?: number;
  /**
   * When the group is full: wait for a slot in creation order, cancel the older runs, or start nothing.
   */
  on_conflict?: 'queue' | 'cancel_in_progress' | 'skip';
  /**
   * How many steps of one run may run at once.
   */
  steps?: number;
}
export interface EventPage {
  items: EventDocument[];
}
/**
 * A lifecycle event, stored with a gap-free seq per run before it is emitted.
 */
export interface EventDocument {
  /**
   * ULID
   */
  event_id: string;
  /**
   * ULID
   */
  run_id: string;
  seq: number;
  type:
    | 'run.created'
    | 'run.started'
    | 'step.started'
    | 'step.retrying'
    | 'step.succeeded'
    | 'step.failed'
    | 'step.skipped'
    | 'step.cancelled'
    | 'artifact.attached'
    | 'budget.exceeded'
    | 'run.succeeded'
    | 'run.failed'
    | 'run.cancelled';
  at: string;
  /**
   * ULID
   */
  step_id?: string;
  data: {
    [k: string]: unknown;
  };
}
export interface ListEventsQuery {
  /**
   * Only events with a larger seq.
   */
  after_seq?: number;
  limit?: number;
}
export interface ListPlansQuery {
  owner?: string;
  name?: string;
  limit?: number;
  cursor?: string;
}
/**
 * Filters of list_runs. Every value is a scalar; operator objects are rejected.
 */
export interface ListRunsQuery {
  status?: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  owner?: string;
  plan_id?: string;
  /**
   * Only the child runs started by this run's `plan` steps.
   */
  parent_run_id?: string;
  /**
   * Inclusive lower bound.
   */
  created_after?: string;
  /**
   * Exclusive upper bound.
   */
  created_before?: string;
  limit?: number;
  /**
   * Opaque; from next_cursor of the previous page.
   */
  cursor?: string;
}
export interface ListSchedulesQuery {
  limit?: number;
  cursor?: string;
}
export interface PlanCreated {
  plan: PlanDocument;
  /**
   * false when this version was stored already.
   */
  created: boolean;
}
/**
 * A stored plan version. A changed spec is a new version of the same plan_id.
 */
export interface PlanDocument {
  /**
   * ULID
   */
  plan_id: string;
  name: string;
  /**
   * sha256 of the canonical plan JSON.
   */
  version: string;
  description?: string;
  owner: string;
  created_at: string;
  steps_spec: Plan;
  labels: {
    [k: string]: string;
  };
  /**
   * Absolute path of the plan file it was loaded from, when it came from one.
   */
  source_path?: string;
}
export interface PlanPage {
  items: PlanDocument[];
  next_cursor?: string;
}
/**
 * Who a token is: the owner it acts for and its role (reader reads; runner also creates and changes; admin sees every owner).
 */
export interface Principal {
  owner: string;
  role: 'reader' | 'runner' | 'admin';
}
/**
 * An error answer (RFC 9457 application/problem+json) with Maestro's stable code.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /**
   * Stable error code (docs/errors.md).
   */
  code: string;
  instance?: string;
  /**
   * JSON path of the offending field, for validation errors.
   */
  field?: string;
  in?: 'body' | 'querystring' | 'params' | 'headers';
  expected?: string;
}
/**
 * A run's provenance as this server checks it now: each claim-ledger manifest's hash chain, and the run's signed attestation (when this server's workspace holds them).
 */
export interface ProvenanceCheck {
  manifests: {
    path: string;
    manifest_id?: string;
    valid: boolean;
    error?: string;
  }[];
  attestation?: {
    path: string;
    /**
     * Absent when no public key is at hand to check it with.
     */
    valid?: boolean;
    subjects?: number;
    error?: string;
  };
}
/**
 * Start a new run linked to an old one, reusing the outputs of the steps before from_step.
 */
export interface RerunRequest {
  from_step: string;
  /**
   * Replaces the old run's inputs when given.
   */
  inputs?: {
    [k: string]: unknown;
  };
  execute?: boolean;
}
/**
 * get_run: a run with its steps and artifacts.
 */
export interface RunDetail {
  run: RunDocument;
  steps: StepDocument[];
  artifacts: ArtifactDocument[];
}
/**
 * One execution of a plan version.
 */
export interface RunDocument {
  /**
   * ULID
   */
  run_id: string;
  /**
   * ULID
   */
  plan_id: string;
  plan_version: string;
  plan_name: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  created_at: string;
  started_at?: string;
  ended_at?: string;
  owner: string;
  inputs: {
    [k: string]: unknown;
  };
  outputs?: {
    [k: string]: unknown;
  };
  budget: Budget;
  usage: {
    duration_ms?: number;
    cost: number;
  };
  /**
   * W3C traceparent the run's span hangs under: the caller's (API traceparent header) or its parent step attempt's.
   */
  trace_parent?: string;
  /**
   * W3C traceparent of the run's span as its first runner started it: a runner that resumes the run continues this trace.
   */
  traceparent?: string;
  /**
   * ULID
   */
  parent_run_id?: string;
  /**
   * ULID
   */
  parent_step_id?: string;
  /**
   * ULID
   */
  root_run_id: string;
  provenance: {
    intelgraph_entity_ids: string[];
    claim_ledger_manifest_ids: string[];
    claim_ledger_manifest_paths: string[];
  };
  error_info?: ErrorInfo;
  labels: {
    [k: string]: string;
  };
  idempotency_key?: string;
  /**
   * The names of the secrets the run's plan declares; never their values.
   *
   * @maxItems 100
   */
  secret_names?: string[];
  /**
   * With idempotency_key: sha256 of the canonical start request (plan version, inputs, labels, parent). The same key with another request is refused (IDEMPOTENCY_CONFLICT).
   */
  request_sha256?: string;
  lease?: Lease;
  cancel_requested_at?: string;
  /**
   * ULID
   */
  schedule_id?: string;
  allowed_kinds?: AllowedKinds1;
  /**
   * The concurrency group this run counts in (its expressions evaluated) and the group's limit.
   */
  concurrency?: {
    group: string;
    limit: number;
  };
  /**
   * The schedule tick this run is for.
   */
  scheduled_for?: string;
  rerun_of?: {
    /**
     * ULID
     */
    run_id: string;
    from_step: string;
  };
  hook_failures?: {
    hook: string;
    seq: number;
    message: string;
    at: string;
  }[];
  /**
   * Per hook, the last event seq delivered.
   */
  hook_cursors?: {
    [k: string]: number;
  };
}
/**
 * Why a run or step did not succeed.
 */
export interface ErrorInfo {
  message: string;
  /**
   * Stable machine code, e.g. step_failed, budget_exceeded, timeout.
   */
  code: string;
  attempt?: number;
  details?: {
    [k: string]: unknown;
  };
}
/**
 * Who may write a run or step now. Every write under a lease filters on owner + fence.
 */
export interface Lease {
  owner: string;
  expires_at: string;
  /**
   * Incremented by every claim; a stale holder's writes match nothing.
   */
  fence: number;
}
/**
 * One step of a run: a plan step, a nested step of a group, or one foreach copy.
 */
export interface StepDocument {
  /**
   * ULID
   */
  step_id: string;
  /**
   * ULID
   */
  run_id: string;
  /**
   * Path of the step in the plan: id, group.child, each[2].child.
   */
  key: string;
  name: string;
  /**
   * Absent for a group.
   */
  uses?: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  /**
   * 0 before the first claim.
   */
  attempt: number;
  max_attempts: number;
  /**
   * Keys of the sibling steps this one waits for.
   */
  needs: string[];
  created_at: string;
  started_at?: string;
  ended_at?: string;
  /**
   * Not claimable before this time (retry backoff).
   */
  ready_at?: string;
  logs_ref?: string;
  error_info?: ErrorInfo;
  outputs?: {
    [k: string]: unknown;
  };
  cost?: number;
  /**
   * ULID
   */
  parent_step_id?: string;
  /**
   * ULID
   */
  child_run_id?: string;
  /**
   * The foreach item of this copy.
   */
  item?: {
    [k: string]: unknown;
  };
  /**
   * Position of a foreach copy.
   */
  index?: number;
  skip_reason?: 'condition_false' | 'upstream_failed' | 'upstream_skipped' | 'cancelled' | 'budget_exceeded' | 'reused';
  lease?: Lease;
  /**
   * Offered to any runner whose labels and kinds fit since then (its driver could not or would not run it here); removed once claimed or ended.
   */
  offered_at?: string;
  /**
   * Labels a runner needs to execute this step (from the plan); absent or empty: any runner.
   *
   * @maxItems 20
   */
  runs_on?: string[];
  /**
   * How an attempt that a runner other than the run's driver executed ended, written under its lease for the driver to record.
   */
  attempt_result?: {
    attempt: number;
    outcome: 'succeeded' | 'failed' | 'await_external';
    runner: string;
    logs_ref: string;
    outputs?: {
      [k: string]: unknown;
    };
    cost?: number;
    error_info?: ErrorInfo;
    retryable?: boolean;
    /**
     * ULID
     */
    child_run_id?: string;
  };
}
/**
 * A file or URL a run produced.
 */
export interface ArtifactDocument {
  /**
   * ULID
   */
  artifact_id: string;
  /**
   * ULID
   */
  run_id: string;
  /**
   * ULID
   */
  step_id?: string;
  type: 'document' | 'report' | 'model' | 'dataset' | 'disclosure_pack';
  name: string;
  /**
   * URL or absolute path.
   */
  location: string;
  digest?: {
    sha256: string;
  };
  size_bytes?: number;
  /**
   * The file's bytes in the store's blob area (a step's declared file artifact), with the sha256 of digest.
   */
  blob_id?: string;
  media_type?: string;
  claim_ledger_ref?: string;
  intelgraph_entity_ids: string[];
  created_at: string;
  metadata: {
    [k: string]: unknown;
  };
}
/**
 * list_runs: newest first; pass next_cursor as cursor for the next page.
 */
export interface RunPage {
  items: RunDocument[];
  next_cursor?: string;
}
export interface SchedulePage {
  items: ScheduleDocument[];
  next_cursor?: string;
}
/**
 * Starts runs of a plan on a cron: workers create each tick's run once, under the key schedule id + tick time.
 */
export interface ScheduleDocument {
  schedule_id: string;
  name: string;
  owner: string;
  /**
   * Each tick runs the plan's newest version.
   */
  plan_id: string;
  /**
   * Five fields (minute hour day month weekday), or six with seconds first.
   */
  cron: string;
  /**
   * IANA time zone the cron is read in.
   */
  timezone: string;
  inputs: {
    [k: string]: unknown;
  };
  /**
   * Write-only inputs of the plan, by input name, given as the name of a secret: the worker that fires a tick resolves it with its secret provider, and the run holds the value as a write-only input. A schedule never stores a write-only value.
   */
  secret_inputs?: {
    [k: string]: string;
  };
  labels: {
    [k: string]: string;
  };
  /**
   * Ticks missed while no worker ran: none of them, the latest one, or all (up to catchup_limit, the latest).
   */
  catchup: 'skip' | 'one' | 'all';
  catchup_limit: number;
  concurrency?: RunConcurrency2;
  paused: boolean;
  created_at: string;
  /**
   * The first tick not handled yet.
   */
  next_tick_at: string;
  /**
   * The newest tick a run was created for.
   */
  last_tick_at?: string;
  allowed_kinds?: AllowedKinds2;
  /**
   * owner:plan name, for the one schedule a plan file's `schedule` block keeps.
   */
  plan_key?: string;
}
/**
 * At most `limit` runs of one group go on at once, across every runner. The group may hold ${{ inputs.* }} expressions, so each environment (say) is a group of its own.
 */
export interface RunConcurrency2 {
  group: string;
  limit?: number;
  /**
   * When the group is full: wait for a slot in creation order, cancel the older runs, or start nothing.
   */
  on_conflict?: 'queue' | 'cancel_in_progress' | 'skip';
  /**
   * How many steps of one run may run at once.
   */
  steps?: number;
}
export interface StartRunRequest {
  plan_id: string;
  /**
   * Defaults to the newest version.
   */
  plan_version?: string;
  inputs?: {
    [k: string]: unknown;
  };
  labels?: {
    [k: string]: string;
  };
  idempotency_key?: string;
  concurrency?: RunConcurrency3;
  /**
   * Also execute it on the server's in-process runner.
   */
  execute?: boolean;
}
/**
 * At most `limit` runs of one group go on at once, across every runner. The group may hold ${{ inputs.* }} expressions, so each environment (say) is a group of its own.
 */
export interface RunConcurrency3 {
  group: string;
  limit?: number;
  /**
   * When the group is full: wait for a slot in creation order, cancel the older runs, or start nothing.
   */
  on_conflict?: 'queue' | 'cancel_in_progress' | 'skip';
  /**
   * How many steps of one run may run at once.
   */
  steps?: number;
}
export interface StepLogQuery {
  /**
   * Which attempt's log; default the step's current attempt.
   */
  attempt?: number;
  /**
   * Bytes already had: the log from this byte on (resume a stream here).
   */
  offset?: number;
  /**
   * Keep the response open and stream what the attempt writes until it ends.
   */
  follow?: boolean;
}
/**
 * Report a step's status from outside the runner (external workers, manual steps).
 */
export interface UpdateStepRequest {
  status: 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  logs_ref?: string;
  error_info?: ErrorInfo;
  outputs?: {
    [k: string]: unknown;
  };
  cost?: number;
}
/**
 * The `data` of each lifecycle event type. Step events always name the step's key; an event a resumed runner writes for a change its killed predecessor stored is marked `recovered`.
 */
export interface EventDataByType {
  'run.created': RunCreatedData;
  'run.started': RunStartedData;
  'step.started': StepStartedData;
  'step.retrying': StepRetryingData;
  'step.succeeded': StepSucceededData;
  'step.failed': StepFailedData;
  'step.skipped': StepSkippedData;
  'step.cancelled': StepCancelledData;
  'artifact.attached': ArtifactAttachedData;
  'budget.exceeded': BudgetExceededData;
  'run.succeeded': RunEndedData;
  'run.failed': RunEndedData;
  'run.cancelled': RunEndedData;
}
export interface RunCreatedData {
  plan_id: string;
  plan_version: string;
  owner: string;
  rerun_of?: {
    run_id: string;
    from_step: string;
  };
}
export interface RunStartedData {
  /**
   * The runner holding the run's lease.
   */
  runner: string;
}
export interface StepStartedData {
  key: string;
  /**
   * 0 for a group or fanout.
   */
  attempt?: number;
  /**
   * This runner took the step over from a runner whose lease expired.
   */
  takeover?: boolean;
  /**
   * Reported from outside the runner (API, CLI, external worker).
   */
  source?: 'external';
  recovered?: boolean;
}
export interface StepRetryingData {
  key: string;
  /**
   * The attempt that failed.
   */
  attempt?: number;
  next_attempt_at?: string;
  error?: ErrorInfo;
  recovered?: boolean;
}
export interface StepSucceededData {
  key: string;
  attempt?: number;
  outputs?: {
    [k: string]: unknown;
  };
  source?: 'external';
  recovered?: boolean;
}
export interface StepFailedData {
  key: string;
  attempt?: number;
  error?: ErrorInfo;
  source?: 'external';
  recovered?: boolean;
}
export interface StepSkippedData {
  key: string;
  /**
   * The step's skip_reason: condition_false, upstream_failed, upstream_skipped, …
   */
  reason?: string;
  source?: 'external';
  recovered?: boolean;
}
export interface StepCancelledData {
  key: string;
  reason?: 'cancelled' | 'budget_exceeded';
  attempt?: number;
  error?: ErrorInfo;
  source?: 'external';
  recovered?: boolean;
}
export interface ArtifactAttachedData {
  artifact_id: string;
  name: string;
  type: string;
  location: string;
  sha256?: string;
}
export interface BudgetExceededData {
  kind: 'max_cost' | 'max_duration_ms';
  limit: number;
  value: number;
  /**
   * enforce stopped the run; audit only recorded the crossing.
   */
  mode: 'enforce' | 'audit';
}
export interface RunEndedData {
  status: 'succeeded' | 'failed' | 'cancelled';
  error_info?: ErrorInfo;
  usage: {
    duration_ms?: number;
    cost: number;
  };
}
/**
 * One piece of a step attempt's log, stored as it is written so any process can follow it wherever the step runs.
 */
export interface LogChunkDocument {
  run_id: string;
  key: string;
  attempt: number;
  /**
   * 0, 1, 2, … in the order written.
   */
  seq: number;
  /**
   * The chunk's bytes, base64.
   */
  data: string;
  at: string;
}
/**
 * Run a program. The command is an argv array and never goes through a shell unless shell is true.
 */
export interface ExecWith {
  /**
   * argv: the program, then its arguments. Numbers and booleans (e.g. from a whole ${{ }} expression) are passed as their text.
   *
   * @minItems 1
   * @maxItems 1000
   */
  command: (string | number | boolean)[];
  /**
   * Relative to the workspace; may not escape it.
   */
  cwd?: string;
  env?: {
    [k: string]: string;
  };
  /**
   * Explicit opt-in: run command[0] through /bin/sh -c.
   */
  shell?: boolean;
}
/**
 * Call a function registered in code. Other keys are passed to the handler as its arguments.
 */
export interface HandlerWith {
  handler: string;
  [k: string]: unknown;
}
/**
 * Call an HTTP(S) endpoint. Private and link-local addresses are refused unless allowed.
 */
export interface HttpWith {
  url: string;
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: {
    [k: string]: string;
  };
  /**
   * Sent as JSON unless it is a string.
   */
  body?: {
    [k: string]: unknown;
  };
  /**
   * Hosts allowed even when they resolve to private addresses.
   *
   * @maxItems 100
   */
  allow_hosts?: string[];
  max_response_bytes?: number;
  max_redirects?: number;
  expect_status?: number[];
}
/**
 * Wait until the API or CLI reports this step's status.
 */
export interface ManualWith {
  prompt?: string;
}
/**
 * Do nothing; optionally publish outputs and report a cost.
 */
export interface NoopWith {
  outputs?: {
    [k: string]: unknown;
  };
  cost?: number;
}
/**
 * Run another plan as a child run and take its outputs.
 */
export interface PlanWith {
  /**
   * Path of the child plan file, relative to the parent plan file.
   */
  plan: string;
  inputs?: {
    [k: string]: unknown;
  };
}
export interface SleepWith {
  ms: number;
}
