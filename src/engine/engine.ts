import { hostname } from 'node:os';
import type {
  ArtifactDocument,
  Plan,
  PlanDocument,
  RunDocument,
  StepDocument,
  UpdateStepRequest,
} from '../generated/schemas.js';
import { isoNow, sleepOn, systemClock, type Clock } from '../domain/clock.js';
import { noTelemetry } from '../domain/telemetry.js';
import { MaestroError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { assertJsonWithin, Limits } from '../domain/json-limits.js';
import { isTerminalRunStatus, isTerminalStepStatus } from '../domain/status.js';
import { EventBus } from '../events/event-bus.js';
import { EventType } from '../events/event-types.js';
import type { ProvenanceHook } from '../events/hook-api.js';
import { HookOutbox } from '../events/hook-outbox.js';
import { HookRegistry } from '../events/hook-registry.js';
import type { CompiledPlan } from '../plan/compile-plan.js';
import type { LeaseRequest, RunStore } from '../store/port.js';
import { recordArtifact, type ReportedArtifact } from './artifacts/artifact-recording.js';
import { cancelChildRuns, runChildPlan } from './runs/child-runs.js';
import { createDefaultExecutors } from './executors/default-executors.js';
import { runnerSettingsOf, type EngineOptions, type RunnerSettings, type StartRunOptions } from './engine-options.js';
import type { EngineServices } from './engine-services.js';
import { ExecutorRegistry } from './executors/executor-registry.js';
import { HandlerRegistry, type StepHandler } from './executors/handler-registry.js';
import { allKinds } from './trust/kind-policy.js';
import { hiddenFromSteps } from './trust/hidden-from-steps.js';
import { kindsOfRun, runnerCovers } from './trust/run-kinds.js';
import { LeaseKeeper } from './workers/lease-keeper.js';
import { assertSameRequest, newRunDocuments, rerunStart, type RerunOptions } from './runs/new-run.js';
import { recordMissingRunEnd } from './run-loop/run-end-event.js';
import { outsideUpdateEvent, outsideUpdatePatch } from './runs/outside-update.js';
import { PlanCatalog, type ApplyPlanOptions } from './runs/plan-catalog.js';
import { RunDriver } from './run-loop/run-driver.js';
import { execEnvironmentOf, sandboxOf } from './trust/runner-environment.js';
import { RunnerSlots } from './workers/runner-slots.js';
import { envSecretProvider } from './secrets/secret-provider.js';
import type { StepExecutor } from './executors/step-context.js';
import { ScheduleService } from './schedules/schedule-service.js';
import { SCHEDULE_POLL_MS, Scheduler, type ScheduleReport, type StartRun } from './schedules/scheduler.js';
import { ConcurrencyGate } from './runs/concurrency-gate.js';
import { workLoop, type WorkOptions } from './workers/worker-loop.js';
import { takeOfferedAttempts } from './workers/offered-attempts.js';
import { DrivenRuns } from './run-loop/driven-runs.js';
import { requireRun, requireRunDetail, requireStep } from './runs/stored-lookups.js';

export type { EngineOptions, StartRunOptions } from './engine-options.js';
export { MINIMAL_EXEC_ENV } from './trust/runner-environment.js';

/**
 * The engine: compiles plans, creates runs, drives them under leases, and applies outside updates. CLI, API
 * and workers all go through it; it never prints (it emits events) and never imports an adapter. Its hook
 * registry starts empty: the composition roots (CLI, server, library entry) register the built-in hooks.
 */
export class Engine {
  readonly store: RunStore;
  readonly events: EventBus;
  readonly executors: ExecutorRegistry;
  readonly handlers: HandlerRegistry;
  /** Provenance hooks, by name: the built-ins once a composition root registers them, and any of yours. */
  readonly hooks: HookRegistry;
  readonly runnerId: string;
  private readonly outbox: HookOutbox;
  private readonly leases: LeaseKeeper;
  private readonly services: EngineServices;
  private readonly plans: PlanCatalog;
  /** The runs this process drives now, so a cancel request can reach their driver without waiting for a poll. */
  private readonly drivers = new DrivenRuns();
  private readonly settings: RunnerSettings;
  /** Write-only inputs of the runs this process started: held in memory only, never stored. */
  private readonly writeOnlyInputs = new Map<string, Record<string, unknown>>();
  private readonly clock: Clock;
  /** Fires due schedule ticks (workers and servers run its loop). */
  readonly scheduler: Scheduler;
  /** Schedules as the CLI and the API manage them. */
  readonly schedules: ScheduleService;
  private readonly schedulerNow: () => Date;
  private readonly concurrency: ConcurrencyGate;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.settings = runnerSettingsOf(options);
    const { workspace } = this.settings;
    this.runnerId = options.runnerId ?? `${hostname()}:${process.pid}:${newId()}`;
    const environment = options.environment ?? process.env;
    const stepHidden = hiddenFromSteps(workspace, options.hiddenPaths ?? []);
    const telemetry = options.telemetry ?? noTelemetry;
    this.events = new EventBus(this.store, this.clock);
    this.handlers = new HandlerRegistry();
    this.executors = createDefaultExecutors(this.handlers);
    this.leases = new LeaseKeeper(this.store, this.settings.leaseMs, this.clock);
    this.hooks = new HookRegistry();
    this.plans = new PlanCatalog({
      store: this.store,
      clock: this.clock,
      kinds: this.executors,
      hooks: this.hooks,
      defaultOwner: this.settings.defaultOwner,
      workspace,
    });
    this.outbox = new HookOutbox({
      store: this.store,
      clock: this.clock,
      workspace,
      runnerId: this.runnerId,
      telemetry,
      hooksOf: async (run) => this.hooks.hooksFor((await this.plans.ofRun(run)).compiled.plan.hooks ?? []),
    });
    this.events.on('event', (event) => this.outbox.kick(event.run_id));
    this.services = {
      store: this.store,
      events: this.events,
      executors: this.executors,
      runnerId: this.runnerId,
      leases: this.leases,
      slots: new RunnerSlots(this.settings.concurrency),
      clock: this.clock,
      telemetry,
      pollMs: this.settings.pollMs,
      workspace,
      logsDir: this.settings.logsDir,
      maxLogBytes: this.settings.maxLogBytes,
      artifacts: { maxBytes: this.settings.maxArtifactBytes, hidden: [this.settings.logsDir, ...stepHidden] },
      compiledPlanOf: (run) => this.plans.ofRun(run),
      runChildPlan: (parent, request) => runChildPlan(this, parent, request, stepHidden),
      cancelChildRuns: (runId) => cancelChildRuns(this, runId),
      attachArtifact: (run, stepId, request) => this.attachArtifact(run.run_id, request, stepId),
      addProvenance: (runId, refs) => this.store.addRunProvenance(runId, refs),
      secrets: options.secrets ?? envSecretProvider(environment),
      execEnvironment: execEnvironmentOf(environment, options.inheritEnvironment ?? false),
      writeOnlyInputsOf: (runId) => this.writeOnlyInputs.get(runId),
      kindPolicy: options.allowKinds ?? allKinds(),
      labels: new Set(options.labels ?? []),
      shareSteps: options.shareSteps ?? false,
      leaseRequest: () => this.leaseRequest(),
      sandbox: sandboxOf(options.sandbox ?? 'auto', workspace, options.hiddenPaths ?? []),
    };
    this.concurrency = new ConcurrencyGate(this.store, (runId) => this.cancelRun(runId));
    const startRun: StartRun = (planDoc, opts) => this.startRun(planDoc, opts);
    this.scheduler = new Scheduler(this.store, startRun, this.services.secrets, this.clock);
    this.schedulerNow = options.schedulerNow ?? (() => this.clock.now());
    this.schedules = new ScheduleService(this.store, this.schedulerNow, this.scheduler, (planDoc) =>
      this.plans.compileStored(planDoc),
    );
  }

  /** This runner's workspace: artifact paths, ledger manifests and attestations are under it. */
  get workspaceDirectory(): string {
    return this.settings.workspace;
  }

  /** Where this runner writes its steps' logs (`logs_ref`s point into it). */
  get logsDirectory(): string {
    return this.settings.logsDir;
  }

  registerHandler(name: string, handler: StepHandler): this {
    this.handlers.register(name, handler);
    return this;
  }

  /** A hook for the runs whose plans name it, or for every run with `always`. */
  registerHook(hook: ProvenanceHook, options: { always?: boolean } = {}): this {
    this.hooks.register(hook, options);
    return this;
  }

  registerExecutor(executor: StepExecutor): this {
    this.executors.register(executor);
    return this;
  }

  // ---- plans

  /** Checks a schema-valid plan completely (cycles, needs, expressions, kinds), once per version. */
  compile(plan: Plan): CompiledPlan {
    return this.plans.compile(plan);
  }

  /**
   * Stores a plan version (idempotent: the same spec is the same version of the same plan_id). With `allowKinds`,
   * a plan using another step kind is refused before anything is stored: the API's check on what callers submit.
   */
  applyPlan(plan: Plan, options: ApplyPlanOptions = {}): Promise<{ plan: PlanDocument; created: boolean }> {
    return this.plans.apply(plan, options);
  }

  /** Loads, checks and compiles a plan file; every error names the file as well as the JSON path. */
  compilePlanFile(path: string): { plan: Plan; compiled: CompiledPlan; path: string } {
    return this.plans.compileFile(path);
  }

  applyPlanFile(path: string, owner?: string): Promise<PlanDocument> {
    return this.plans.applyFile(path, owner);
  }

  // ---- runs

  /**
   * Validates inputs and creates the run with all its initial steps (nothing else happens: a runner executes it).
   * With an idempotency key, starting twice returns the first run.
   */
  async startRun(
    planDoc: PlanDocument,
    options: StartRunOptions = {},
  ): Promise<{ run: RunDocument; created: boolean }> {
    const compiled = this.plans.compileStored(planDoc);
    const given = options.inputs ?? {};
    assertJsonWithin(given, { maxDepth: Limits.jsonDepth, maxBytes: Limits.inputsBytes }, '$.inputs');
    compiled.validateInputs(given);
    const owner = options.owner ?? planDoc.owner;
    const runId = newId();
    const fresh = newRunDocuments(planDoc, compiled, given, { ...options, runId, owner, now: isoNow(this.clock) });
    const group = this.concurrency.resolve(compiled.plan, fresh.run.inputs, options.concurrency, owner);
    if (group) {
      await this.concurrency.admit(group);
      fresh.run.concurrency = { group: group.group, limit: group.limit };
    }
    const result = await this.store.createRun(fresh.run, fresh.steps);
    if (result.created && fresh.held) this.writeOnlyInputs.set(runId, fresh.held);
    if (!result.created) assertSameRequest(fresh.run, result.run, options.idempotencyKey);
    if (result.created)
      await this.events.record(runId, EventType.runCreated, {
        plan_id: planDoc.plan_id,
        plan_version: planDoc.version,
        owner,
        ...(options.rerunOf ? { rerun_of: options.rerunOf } : {}),
      });
    if (result.created && group) await this.concurrency.afterCreate(result.run, group);
    return result;
  }

  /**
   * Executes (or resumes) a run on this runner until it ends. When another runner holds the lease, waits for it
   * to expire (a dead runner) unless `wait` is false, in which case it returns undefined.
   */
  async executeRun(
    runId: string,
    options: { wait?: boolean; signal?: AbortSignal } = {},
  ): Promise<RunDocument | undefined> {
    for (;;) {
      const existing = await requireRun(this.store, runId);
      if (isTerminalRunStatus(existing.status)) {
        // The runner that ended it may have died before storing its end event or before its hooks had every event.
        await recordMissingRunEnd(this.store, this.events, existing);
        await this.outbox.drain(runId);
        return existing;
      }
      const claimed = await this.store.claimRun(runId, this.leaseRequest());
      // A run whose concurrency group is full waits here, its lease let go, for the runs before it.
      if (claimed && (await this.concurrency.mayGoOn(claimed))) return this.drive(claimed);
      if (claimed) await this.store.releaseRunLease(runId, claimed.lease!);
      if (options.wait === false || options.signal?.aborted) return undefined;
      await sleepOn(this.clock, Math.min(this.settings.pollMs * 5, 1000), options.signal);
    }
  }

  private async drive(claimed: RunDocument, mode: 'execute' | 'reconcile' = 'execute'): Promise<RunDocument> {
    const { compiled, planDirectory } = await this.plans.ofRun(claimed);
    // Events stored before a runner died are delivered now; those of this drive are all delivered before it returns.
    this.outbox.kick(claimed.run_id);
    const driver = new RunDriver(this.services, compiled, planDirectory, claimed, mode);
    try {
      return await this.drivers.drive(claimed.run_id, driver);
    } finally {
      if (driver.hasEnded) this.writeOnlyInputs.delete(claimed.run_id);
      await this.outbox.drain(claimed.run_id);
    }
  }

  /** What this runner asks for when it claims a run or a step: a lease from now. */
  private leaseRequest(): LeaseRequest {
    return { owner: this.runnerId, now: isoNow(this.clock), expires_at: this.leases.expiry() };
  }

  /** Waits until the hooks have received every event stored so far for a run. */
  async deliverHooks(runId: string): Promise<void> {
    await this.outbox.drain(runId);
  }

  /** Asks a run to stop: its runner cancels running steps and ends it `cancelled`; an unattended run ends at once. */
  async cancelRun(runId: string): Promise<RunDocument> {
    const run = await requireRun(this.store, runId);
    if (isTerminalRunStatus(run.status)) {
      throw new MaestroError('RUN_ILLEGAL_TRANSITION', `run ${runId} already ended ${run.status}`, {
        details: { status: run.status },
      });
    }
    const request = { cancel_requested_at: isoNow(this.clock) };
    await this.store.updateRun(runId, { statusIn: ['pending', 'running'] }, request);
    this.drivers.get(runId)?.poke();
    const unattended = await this.store.claimRun(runId, this.leaseRequest());
    return unattended ? this.drive(unattended) : requireRun(this.store, runId);
  }

  /** A new run of the same plan version, linked to the old one, reusing what succeeded before `fromStep`. */
  async rerunFrom(runId: string, fromStep: string, options: RerunOptions = {}): Promise<RunDocument> {
    const old = await this.getRunDetail(runId);
    const planDoc = await this.store.getPlan(old.run.plan_id, old.run.plan_version);
    if (!planDoc) throw new MaestroError('PLAN_NOT_FOUND', `plan of run ${runId} is not in the store`);
    const oldKinds = await kindsOfRun(this.store, old.run);
    const start = rerunStart(this.plans.compileStored(planDoc), old, fromStep, oldKinds, options);
    return (await this.startRun(planDoc, start)).run;
  }

  // ---- outside updates

  /** A status reported from outside the runner (external worker, manual step, API, CLI). Illegal transitions are refused. */
  async updateStepStatus(runId: string, stepId: string, update: UpdateStepRequest): Promise<StepDocument> {
    const run = await requireRun(this.store, runId);
    const step = await requireStep(this.store, runId, stepId, 'step_id');
    const patch = outsideUpdatePatch(run, step, update, isoNow(this.clock));
    const updated = await this.store.updateStep(stepId, { statusIn: [step.status] }, patch);
    if (!updated)
      throw new MaestroError('CONFLICT', `step ${step.key} changed while it was being updated; read it again`, {
        details: { step_id: stepId },
      });
    const type = outsideUpdateEvent[update.status];
    await this.events.record(runId, type, { key: step.key, source: 'external' }, stepId);
    if (update.cost !== undefined && update.cost > 0 && isTerminalStepStatus(update.status))
      await this.store.addRunCost(runId, update.cost);
    await this.reconcile(runId);
    await this.outbox.drain(runId);
    return updated;
  }

  /** When no runner attends a run, records what outside updates imply (run started, groups done, run ended). */
  private async reconcile(runId: string): Promise<void> {
    const claimed = await this.store.claimRun(runId, this.leaseRequest());
    if (claimed) await this.drive(claimed, 'reconcile');
  }

  /** Records an artifact: a workspace file (sha256 and size computed by streaming) or a URL. */
  async attachArtifact(runId: string, request: ReportedArtifact, stepId?: string): Promise<ArtifactDocument> {
    await requireRun(this.store, runId);
    if (stepId !== undefined) await requireStep(this.store, runId, stepId, '$.step_id');
    const { workspace, logsDir, hiddenPaths } = this.settings;
    const parts = { store: this.store, events: this.events, clock: this.clock, workspace };
    return recordArtifact({ ...parts, hidden: [logsDir, ...hiddenPaths] }, runId, request, stepId);
  }

  // ---- workers

  /**
   * Runs a worker on this engine until the signal aborts: it claims runs nobody drives (workLoop) and takes the
   * step attempts other drivers offer (takeOfferedAttempts).
   */
  async work(options: WorkOptions): Promise<void> {
    const runs = workLoop(
      {
        store: this.store,
        clock: this.clock,
        pollMs: this.settings.pollMs,
        leaseRequest: () => this.leaseRequest(),
        covers: async (run) =>
          runnerCovers(this.store, run, (await this.plans.ofRun(run)).compiled, this.services.kindPolicy),
        mayGoOn: (run) => this.concurrency.mayGoOn(run),
        drive: (run) => this.drive(run),
      },
      options,
    );
    await Promise.all([runs, takeOfferedAttempts(this.services, options)]);
  }

  /**
   * Fires due schedule ticks every second until the signal aborts (workers, and servers that run runs, do this;
   * a tick's run is created once however many fire it).
   */
  runSchedules(signal: AbortSignal, report: ScheduleReport): Promise<void> {
    return this.scheduler.loop(signal, this.schedulerNow, SCHEDULE_POLL_MS, report);
  }

  getRunDetail(runId: string) {
    return requireRunDetail(this.store, runId);
  }

  /**
   * For a runner that stops: waits up to `graceMs` for the runs driven here to end, then hands the others back
   * (their running steps stopped, to be taken over as the same attempts; their leases let go).
   */
  async stopDriving(graceMs: number): Promise<void> {
    if (!(await this.drivers.settled(graceMs))) await this.drivers.handBack();
  }

  close(): void {
    this.leases.stop();
  }
}
