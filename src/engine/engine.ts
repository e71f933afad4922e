import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type {
  ArtifactDocument,
  Plan,
  PlanDocument,
  RunDocument,
  StepDocument,
  UpdateStepRequest,
} from '../generated/schemas.js';
import { isoNow, sleepOn, systemClock, type Clock } from '../domain/clock.js';
import { isMaestroError, MaestroError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { assertJsonWithin, Limits } from '../domain/json-limits.js';
import { defineOwn } from '../domain/own-property.js';
import { assertStepTransition, isTerminalRunStatus, isTerminalStepStatus } from '../domain/status.js';
import { EventBus } from '../events/event-bus.js';
import { EventType } from '../events/event-types.js';
import type { ProvenanceHook } from '../events/hook-api.js';
import { HookOutbox } from '../events/hook-outbox.js';
import { builtinHooks } from '../hooks/builtin-hooks.js';
import { HookRegistry } from '../hooks/hook-registry.js';
import { compilePlan, type CompiledPlan } from '../plan/compile-plan.js';
import { loadPlanFile, MAX_PLAN_DEPTH } from '../plan/load-plan.js';
import { planVersion } from '../plan/plan-version.js';
import { assertMatchesSchema } from '../schema/validators.js';
import type { RunStore } from '../store/port.js';
import { createDefaultExecutors } from './default-executors.js';
import type { EngineServices } from './engine-services.js';
import { ExecutorRegistry } from './executor-registry.js';
import { digestFile } from './file-digest.js';
import { HandlerRegistry, type StepHandler } from './handler-registry.js';
import { LeaseKeeper } from './lease-keeper.js';
import { externalLease } from './external-lease.js';
import { RunDriver } from './run-driver.js';
import { allKinds, assertPlanKindsAllowed, type KindPolicy } from './kind-policy.js';
import { isBubblewrapAvailable, type SandboxMode } from './executors/exec-sandbox.js';
import { RunnerSlots } from './runner-slots.js';
import { MASK } from './secrets/secret-masker.js';
import { envSecretProvider, SECRET_ENV_PREFIX, type SecretProvider } from './secrets/secret-provider.js';
import type { ArtifactRequest, StepExecutor } from './step-context.js';
import { buildInitialSteps } from './step-tree.js';
import { resolveInWorkspace } from './workspace-path.js';

export interface EngineOptions {
  store: RunStore;
  /** Unique per runner process; defaults to host:pid:ulid. */
  runnerId?: string;
  /** Lease length; renewed at a third of it. Store timeouts stay below it. Default 30 s. */
  leaseMs?: number;
  /** How often a waiting run looks at the store for outside changes. Default 200 ms. */
  pollMs?: number;
  /** Steps this runner executes at once, across runs. Default 16. */
  concurrency?: number;
  /** Root for exec cwd, artifact paths and logs. Default: the current directory. */
  workspace?: string;
  logsDir?: string;
  /** Owner of plans and runs when none is given. Default `local`. */
  defaultOwner?: string;
  clock?: Clock;
  /** Where `${{ secrets.X }}` values come from. Default: `MAESTRO_SECRET_<X>` in `environment`. */
  secrets?: SecretProvider;
  /** The runner's environment: the source of exec steps' PATH, HOME, … and env_passthrough. Default: process.env. */
  environment?: NodeJS.ProcessEnv;
  /** Exec steps in a bubblewrap sandbox: `auto` (default) when bwrap is installed, `on` requires it, `off`. */
  sandbox?: SandboxMode;
  /** More paths exec steps must not see (the tokens file, a store or secrets file elsewhere). */
  hiddenPaths?: readonly string[];
  /** Step kinds this runner executes (`shell` for exec with shell: true); others fail KIND_FORBIDDEN. Default: all. */
  allowKinds?: KindPolicy;
  /** Give exec steps the runner's whole environment (less MAESTRO_SECRET_*) instead of the minimal one. Default false. */
  inheritEnvironment?: boolean;
}

/** What every exec step gets from the runner's environment by default. */
export const MINIMAL_EXEC_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const;

export interface StartRunOptions {
  inputs?: Record<string, unknown>;
  owner?: string;
  labels?: Record<string, string>;
  idempotencyKey?: string;
  parent?: { run_id: string; step_id: string; root_run_id: string };
  rerunOf?: { run_id: string; from_step: string };
  /** Steps (by top-level key) whose earlier results are reused: created succeeded with these outputs. */
  reuse?: ReadonlyMap<string, StepDocument>;
}

/** The reasons a stopped step passes on to its child run. */
const stopsChildRuns: ReadonlySet<string> = new Set(['CANCELLED', 'BUDGET_EXCEEDED', 'STEP_TIMEOUT']);

/**
 * The engine: compiles plans, creates runs, drives them under leases, and applies outside updates. CLI, API
 * and workers all go through it; it never prints (it emits events) and never imports an adapter.
 */
export class Engine {
  readonly store: RunStore;
  readonly events: EventBus;
  readonly executors: ExecutorRegistry;
  readonly handlers: HandlerRegistry;
  /** Provenance hooks: the built-ins (`claim-ledger`, `openlineage`, `attestation`) and any registered. */
  readonly hooks: HookRegistry;
  readonly runnerId: string;
  private readonly outbox: HookOutbox;
  private readonly leases: LeaseKeeper;
  private readonly services: EngineServices;
  private readonly compiledByVersion = new Map<string, CompiledPlan>();
  /** The runs this process drives now, so a cancel request can reach their driver without waiting for a poll. */
  private readonly drivers = new Map<string, RunDriver>();
  private readonly options: Readonly<
    Required<
      Omit<
        EngineOptions,
        | 'store'
        | 'runnerId'
        | 'clock'
        | 'secrets'
        | 'environment'
        | 'inheritEnvironment'
        | 'allowKinds'
        | 'sandbox'
        | 'hiddenPaths'
      >
    >
  >;
  private readonly environment: NodeJS.ProcessEnv;
  private readonly inheritEnvironment: boolean;
  /** Write-only inputs of the runs this process started: held in memory only, never stored. */
  private readonly writeOnlyInputs = new Map<string, Record<string, unknown>>();
  private readonly clock: Clock;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    const workspace = resolve(options.workspace ?? process.cwd());
    this.options = Object.freeze({
      leaseMs: options.leaseMs ?? 30_000,
      pollMs: options.pollMs ?? 200,
      concurrency: options.concurrency ?? 16,
      workspace,
      logsDir: options.logsDir ?? join(workspace, '.maestro', 'logs'),
      defaultOwner: options.defaultOwner ?? 'local',
    });
    this.runnerId = options.runnerId ?? `${hostname()}:${process.pid}:${newId()}`;
    this.environment = options.environment ?? process.env;
    this.inheritEnvironment = options.inheritEnvironment ?? false;
    const secrets = options.secrets ?? envSecretProvider(this.environment);
    this.events = new EventBus(this.store, this.clock);
    this.handlers = new HandlerRegistry();
    this.executors = createDefaultExecutors(this.handlers);
    this.leases = new LeaseKeeper(this.store, this.options.leaseMs, this.clock);
    this.hooks = new HookRegistry();
    for (const [name, create] of Object.entries(builtinHooks)) this.hooks.register({ ...create({}), name });
    this.outbox = new HookOutbox({
      store: this.store,
      clock: this.clock,
      workspace,
      runnerId: this.runnerId,
      hooksOf: async (run) => this.hooks.hooksFor((await this.compiledPlanOf(run)).compiled.plan.hooks ?? []),
    });
    this.events.on('event', (event) => this.outbox.kick(event.run_id));
    this.services = {
      store: this.store,
      events: this.events,
      executors: this.executors,
      runnerId: this.runnerId,
      leases: this.leases,
      slots: new RunnerSlots(this.options.concurrency),
      clock: this.clock,
      pollMs: this.options.pollMs,
      workspace,
      logsDir: this.options.logsDir,
      compiledPlanOf: (run) => this.compiledPlanOf(run),
      runChildPlan: (parent, stepId, key, path, inputs, signal) =>
        this.runChildPlan(parent, stepId, key, path, inputs, signal),
      cancelChildRuns: (runId) => this.cancelChildRuns(runId),
      attachArtifact: (run, stepId, request) => this.attachArtifact(run.run_id, request, stepId),
      addProvenance: (runId, refs) => this.store.addRunProvenance(runId, refs),
      secrets,
      execEnvironment: (passthrough) => this.execEnvironment(passthrough),
      writeOnlyInputsOf: (runId) => this.writeOnlyInputs.get(runId),
      kindPolicy: options.allowKinds ?? allKinds(),
      sandbox: sandboxOf(options.sandbox ?? 'auto', workspace, options.hiddenPaths ?? []),
    };
  }

  /** Minimal by default: a step sees no runner variable it was not given. Secrets never pass, even when inheriting. */
  private execEnvironment(passthrough: readonly string[]): Record<string, string> {
    const env: Record<string, string> = {};
    const names = this.inheritEnvironment ? Object.keys(this.environment) : [...MINIMAL_EXEC_ENV, ...passthrough];
    for (const name of names) {
      const value = this.environment[name];
      if (value !== undefined && !name.startsWith(SECRET_ENV_PREFIX)) defineOwn(env, name, value);
    }
    return env;
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
    // Bounded before anything walks it: a hostile plan may nest far deeper than any real one.
    assertJsonWithin(plan, { maxDepth: MAX_PLAN_DEPTH, maxBytes: Limits.documentBytes }, '$', 'PLAN_INVALID');
    // Plans built in code get the same schema check as plan files.
    assertMatchesSchema<Plan>('plan.schema.json', plan, 'PLAN_INVALID', 'plan');
    const compiled = compilePlan(plan, this.executors);
    (plan.hooks ?? []).forEach((name, index) => {
      if (!this.hooks.has(name))
        throw new MaestroError('PLAN_INVALID', `$.hooks[${index}]: unknown hook "${name}"`, {
          details: { path: `$.hooks[${index}]`, expected: `one of ${this.hooks.names().join(', ')}` },
        });
    });
    const cached = this.compiledByVersion.get(compiled.version);
    if (cached) return cached;
    this.compiledByVersion.set(compiled.version, compiled);
    return compiled;
  }

  /**
   * The compiled form of a stored plan version. Its version is the hash of its spec, so a version compiled once in
   * this process is not checked, hashed and compiled again on every start and every drive.
   */
  private compileStored(planDoc: PlanDocument): CompiledPlan {
    return this.compiledByVersion.get(planDoc.version) ?? this.compile(planDoc.steps_spec);
  }

  /**
   * Stores a plan version (idempotent: the same spec is the same version of the same plan_id). With `allowKinds`,
   * a plan using another step kind is refused (KIND_FORBIDDEN, JSON paths under `kindsPath`) before anything is
   * stored: the API's check on what callers may submit, on the one compilation the plan gets.
   */
  async applyPlan(
    plan: Plan,
    options: {
      owner?: string;
      sourcePath?: string;
      allowKinds?: { policy: KindPolicy; where: string; kindsPath: string };
    } = {},
  ): Promise<{ plan: PlanDocument; created: boolean }> {
    const compiled = this.compile(plan);
    if (options.allowKinds)
      assertPlanKindsAllowed(
        compiled,
        options.allowKinds.policy,
        options.allowKinds.where,
        options.allowKinds.kindsPath,
      );
    const owner = options.owner ?? plan.owner ?? this.options.defaultOwner;
    const planId = (await this.store.findPlanId(owner, plan.name)) ?? newId();
    return this.store.savePlan({
      plan_id: planId,
      name: plan.name,
      version: compiled.version,
      ...(plan.description ? { description: plan.description } : {}),
      owner,
      created_at: isoNow(this.clock),
      steps_spec: plan,
      labels: plan.labels ?? {},
      ...(options.sourcePath ? { source_path: resolve(options.sourcePath) } : {}),
    });
  }

  /** Loads, checks and compiles a plan file; every error names the file as well as the JSON path. */
  compilePlanFile(path: string): { plan: Plan; compiled: CompiledPlan; path: string } {
    const loaded = loadPlanFile(path);
    try {
      return { plan: loaded.plan, compiled: this.compile(loaded.plan), path: loaded.path };
    } catch (error) {
      if (error instanceof MaestroError && error.code === 'PLAN_INVALID' && error.details.file === undefined) {
        throw new MaestroError('PLAN_INVALID', `${path}: ${error.message}`, {
          details: { ...error.details, file: path },
        });
      }
      throw error;
    }
  }

  async applyPlanFile(path: string, owner?: string): Promise<PlanDocument> {
    const loaded = this.compilePlanFile(path);
    return (await this.applyPlan(loaded.plan, { ...(owner ? { owner } : {}), sourcePath: loaded.path })).plan;
  }

  private async compiledPlanOf(run: RunDocument): Promise<{ compiled: CompiledPlan; planDirectory: string }> {
    const planDoc = await this.store.getPlan(run.plan_id, run.plan_version);
    if (!planDoc)
      throw new MaestroError(
        'PLAN_NOT_FOUND',
        `plan ${run.plan_id} version ${run.plan_version} of run ${run.run_id} is not in the store`,
      );
    return {
      compiled: this.compileStored(planDoc),
      planDirectory: planDoc.source_path ? dirname(planDoc.source_path) : this.options.workspace,
    };
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
    const compiled = this.compileStored(planDoc);
    const given = options.inputs ?? {};
    assertJsonWithin(given, { maxDepth: Limits.jsonDepth, maxBytes: Limits.inputsBytes }, '$.inputs');
    compiled.validateInputs(given);
    // Write-only inputs are secrets: validated, then kept in this process's memory and stored as ***.
    const { stored: inputs, held } = splitWriteOnly(given, compiled.names.writeOnlyInputs);
    const owner = options.owner ?? planDoc.owner;
    const runId = newId();
    const now = isoNow(this.clock);
    const run: RunDocument = {
      run_id: runId,
      plan_id: planDoc.plan_id,
      plan_version: planDoc.version,
      plan_name: planDoc.name,
      status: 'pending',
      created_at: now,
      owner,
      inputs,
      budget: compiled.plan.budget ?? {},
      usage: { cost: 0 },
      root_run_id: options.parent?.root_run_id ?? runId,
      ...(options.parent ? { parent_run_id: options.parent.run_id, parent_step_id: options.parent.step_id } : {}),
      provenance: { intelgraph_entity_ids: [], claim_ledger_manifest_ids: [], claim_ledger_manifest_paths: [] },
      labels: options.labels ?? {},
      ...(compiled.plan.secrets?.length ? { secret_names: [...compiled.plan.secrets] } : {}),
      ...(options.idempotencyKey
        ? {
            idempotency_key: `${owner}:${options.idempotencyKey}`,
            request_sha256: startRequestDigest(planDoc, inputs, options),
          }
        : {}),
      ...(options.rerunOf ? { rerun_of: options.rerunOf } : {}),
    };
    const steps = buildInitialSteps(compiled, runId, now).map((step) => reuseIfAsked(step, options.reuse));
    const result = await this.store.createRun(run, steps);
    if (result.created && held) this.writeOnlyInputs.set(runId, held);
    // Like a payment API: one key names one request. A different request under it is refused, not answered with the first run.
    if (
      !result.created &&
      run.request_sha256 &&
      result.run.request_sha256 &&
      result.run.request_sha256 !== run.request_sha256
    ) {
      throw new MaestroError(
        'IDEMPOTENCY_CONFLICT',
        `idempotency key "${options.idempotencyKey}" was used for a different request (run ${result.run.run_id})`,
        {
          details: {
            path: 'idempotency_key',
            run_id: result.run.run_id,
            expected: 'the same plan version, inputs and labels as the first request, or a new key',
          },
        },
      );
    }
    if (result.created)
      await this.events.record(runId, EventType.runCreated, {
        plan_id: planDoc.plan_id,
        plan_version: planDoc.version,
        owner,
        ...(options.rerunOf ? { rerun_of: options.rerunOf } : {}),
      });
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
      const existing = await this.store.getRun(runId);
      if (!existing) throw new MaestroError('RUN_NOT_FOUND', `no run ${runId}`, { details: { run_id: runId } });
      if (isTerminalRunStatus(existing.status)) return existing;
      const claimed = await this.store.claimRun(runId, {
        owner: this.runnerId,
        now: isoNow(this.clock),
        expires_at: this.leases.expiry(),
      });
      if (claimed) return this.drive(claimed);
      if (options.wait === false || options.signal?.aborted) return undefined;
      await sleepOn(this.clock, Math.min(this.options.pollMs * 5, 1000), options.signal);
    }
  }

  private async drive(claimed: RunDocument, mode: 'execute' | 'reconcile' = 'execute'): Promise<RunDocument> {
    const { compiled, planDirectory } = await this.compiledPlanOf(claimed);
    // Events stored before a runner died are delivered now; those of this drive are all delivered before it returns.
    this.outbox.kick(claimed.run_id);
    const driver = new RunDriver(this.services, compiled, planDirectory, claimed, mode);
    this.drivers.set(claimed.run_id, driver);
    try {
      return await driver.drive();
    } finally {
      if (this.drivers.get(claimed.run_id) === driver) this.drivers.delete(claimed.run_id);
      if (driver.hasEnded) this.writeOnlyInputs.delete(claimed.run_id);
      await this.outbox.drain(claimed.run_id);
    }
  }

  /** Waits until the hooks have received every event stored so far for a run. */
  async deliverHooks(runId: string): Promise<void> {
    await this.outbox.drain(runId);
  }

  /** Asks a run to stop: its runner cancels running steps and ends it `cancelled`; an unattended run ends at once. */
  async cancelRun(runId: string): Promise<RunDocument> {
    const run = await this.requireRun(runId);
    if (isTerminalRunStatus(run.status)) {
      throw new MaestroError('RUN_ILLEGAL_TRANSITION', `run ${runId} already ended ${run.status}`, {
        details: { status: run.status },
      });
    }
    await this.store.updateRun(
      runId,
      { statusIn: ['pending', 'running'] },
      { cancel_requested_at: isoNow(this.clock) },
    );
    this.drivers.get(runId)?.poke();
    const unattended = await this.store.claimRun(runId, {
      owner: this.runnerId,
      now: isoNow(this.clock),
      expires_at: this.leases.expiry(),
    });
    return unattended ? this.drive(unattended) : this.requireRun(runId);
  }

  /** A new run of the same plan version, linked to the old one, reusing what succeeded before `fromStep`. */
  async rerunFrom(
    runId: string,
    fromStep: string,
    options: { inputs?: Record<string, unknown>; owner?: string } = {},
  ): Promise<RunDocument> {
    const old = await this.store.getRunDetail(runId);
    if (!old) throw new MaestroError('RUN_NOT_FOUND', `no run ${runId}`);
    const planDoc = await this.store.getPlan(old.run.plan_id, old.run.plan_version);
    if (!planDoc) throw new MaestroError('PLAN_NOT_FOUND', `plan of run ${runId} is not in the store`);
    const compiled = this.compileStored(planDoc);
    if (!compiled.topLevelIds.includes(fromStep)) {
      throw new MaestroError(
        'INPUT_INVALID',
        `from_step "${fromStep}" is not a top-level step of plan ${planDoc.name}`,
        {
          details: { path: '$.from_step', expected: `one of ${compiled.topLevelIds.join(', ')}` },
        },
      );
    }
    // from_step and everything downstream of it run again; the rest is reused when it succeeded.
    const rerun = new Set([fromStep]);
    for (let grew = true; grew;) {
      grew = false;
      for (const id of compiled.topLevelIds) {
        if (!rerun.has(id) && compiled.steps.get(id)!.needs.some((need) => rerun.has(need))) {
          rerun.add(id);
          grew = true;
        }
      }
    }
    // Like clearing a task downstream in Airflow: what came before keeps its outputs, even with edited inputs.
    const reuse = new Map<string, StepDocument>();
    for (const step of old.steps) {
      const topKey = step.key.split('.')[0]!.replace(/\[\d+\]$/, '');
      if (!rerun.has(topKey) && step.status === 'succeeded') reuse.set(step.key, step);
    }
    const { run } = await this.startRun(planDoc, {
      inputs: options.inputs ?? old.run.inputs,
      owner: options.owner ?? old.run.owner,
      labels: old.run.labels,
      rerunOf: { run_id: runId, from_step: fromStep },
      reuse,
    });
    return run;
  }

  // ---- outside updates

  /** A status reported from outside the runner (external worker, manual step, API, CLI). Illegal transitions are refused. */
  async updateStepStatus(runId: string, stepId: string, update: UpdateStepRequest): Promise<StepDocument> {
    const run = await this.requireRun(runId);
    const step = await this.store.getStep(stepId);
    if (!step || step.run_id !== runId)
      throw new MaestroError('STEP_NOT_FOUND', `run ${runId} has no step ${stepId}`, { details: { step_id: stepId } });
    if (isTerminalRunStatus(run.status)) {
      throw new MaestroError(
        'STEP_ILLEGAL_TRANSITION',
        `run ${runId} already ended ${run.status}; its steps cannot change`,
        { details: { path: '$.status', run_status: run.status } },
      );
    }
    assertStepTransition(step.key, step.status, update.status);
    if (update.outputs)
      assertJsonWithin(update.outputs, { maxDepth: Limits.jsonDepth, maxBytes: Limits.outputsBytes }, '$.outputs');
    if (update.error_info)
      assertJsonWithin(
        update.error_info,
        { maxDepth: Limits.jsonDepth, maxBytes: Limits.metadataBytes },
        '$.error_info',
      );
    if (
      update.cost !== undefined &&
      !(Number.isFinite(update.cost) && update.cost >= 0 && update.cost <= Limits.maxCost)
    ) {
      throw new MaestroError('LIMIT_EXCEEDED', `cost must be a finite number from 0 to ${Limits.maxCost}`, {
        details: { path: '$.cost', expected: `0 to ${Limits.maxCost}` },
      });
    }
    const now = isoNow(this.clock);
    const updated = await this.store.updateStep(
      stepId,
      { statusIn: [step.status] },
      {
        status: update.status,
        ...(update.status === 'running'
          ? {
              started_at: step.started_at ?? now,
              lease: externalLease(step.lease?.fence ?? 0),
            }
          : {}),
        ...(isTerminalStepStatus(update.status) ? { ended_at: now } : {}),
        ...(update.outputs ? { outputs: update.outputs } : {}),
        ...(update.logs_ref ? { logs_ref: update.logs_ref } : {}),
        ...(update.error_info ? { error_info: update.error_info } : {}),
        ...(update.cost !== undefined ? { cost: update.cost } : {}),
      },
    );
    if (!updated)
      throw new MaestroError('CONFLICT', `step ${step.key} changed while it was being updated; read it again`, {
        details: { step_id: stepId },
      });
    const type = {
      running: EventType.stepStarted,
      succeeded: EventType.stepSucceeded,
      failed: EventType.stepFailed,
      skipped: EventType.stepSkipped,
      cancelled: EventType.stepCancelled,
    }[update.status];
    await this.events.record(runId, type, { key: step.key, source: 'external' }, stepId);
    if (update.cost !== undefined && update.cost > 0 && isTerminalStepStatus(update.status))
      await this.store.addRunCost(runId, update.cost);
    await this.reconcile(runId);
    await this.outbox.drain(runId);
    return updated;
  }

  /** When no runner attends a run, records what outside updates imply (run started, groups done, run ended). */
  private async reconcile(runId: string): Promise<void> {
    const claimed = await this.store.claimRun(runId, {
      owner: this.runnerId,
      now: isoNow(this.clock),
      expires_at: this.leases.expiry(),
    });
    if (claimed) await this.drive(claimed, 'reconcile');
  }

  /** Records an artifact: a workspace file (sha256 and size computed by streaming) or a URL. */
  async attachArtifact(
    runId: string,
    request: ArtifactRequest & {
      location?: string;
      digest?: { sha256: string };
      size_bytes?: number;
      claim_ledger_ref?: string;
    },
    stepId?: string,
  ): Promise<ArtifactDocument> {
    await this.requireRun(runId);
    if (stepId !== undefined) {
      const step = await this.store.getStep(stepId);
      if (!step || step.run_id !== runId)
        throw new MaestroError('STEP_NOT_FOUND', `run ${runId} has no step ${stepId}`, {
          details: { path: '$.step_id' },
        });
    }
    if (request.metadata)
      assertJsonWithin(request.metadata, { maxDepth: Limits.jsonDepth, maxBytes: Limits.metadataBytes }, '$.metadata');
    const rawLocation = request.url ?? request.path ?? request.location;
    if (!rawLocation)
      throw new MaestroError('INPUT_INVALID', 'an artifact needs a path or a URL', { details: { path: '$.location' } });
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawLocation);
    let location = rawLocation;
    let digest = request.digest;
    let size = request.size_bytes;
    if (!isUrl) {
      location = resolveInWorkspace(
        this.options.workspace,
        rawLocation,
        request.path ? '$.artifacts.path' : '$.location',
      );
      try {
        const computed = await digestFile(location);
        digest = { sha256: computed.sha256 };
        size = computed.size_bytes;
      } catch (error) {
        if (request.path) {
          throw new MaestroError('STEP_FAILED', `artifact file ${rawLocation} was not produced`, {
            retryable: false,
            details: { path: '$.artifacts.path', got: rawLocation },
          });
        }
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    const artifact: ArtifactDocument = {
      artifact_id: newId(),
      run_id: runId,
      ...(stepId ? { step_id: stepId } : {}),
      type: request.type,
      name: request.name ?? (basename(isUrl ? new URL(rawLocation).pathname : location) || 'artifact'),
      location,
      ...(digest ? { digest } : {}),
      ...(size !== undefined ? { size_bytes: size } : {}),
      ...(request.media_type ? { media_type: request.media_type } : {}),
      ...(request.claim_ledger_ref ? { claim_ledger_ref: request.claim_ledger_ref } : {}),
      intelgraph_entity_ids: request.intelgraph_entity_ids ?? [],
      created_at: isoNow(this.clock),
      metadata: request.metadata ?? {},
    };
    await this.store.attachArtifact(artifact);
    await this.events.record(
      runId,
      EventType.artifactAttached,
      {
        artifact_id: artifact.artifact_id,
        name: artifact.name,
        type: artifact.type,
        location,
        ...(digest ? { sha256: digest.sha256 } : {}),
      },
      stepId,
    );
    return artifact;
  }

  // ---- child runs and workers

  private async runChildPlan(
    parent: RunDocument,
    parentStepId: string,
    key: string,
    planPath: string,
    inputs: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<RunDocument> {
    const planDoc = await this.applyPlanFile(planPath, parent.owner);
    if (signal.aborted) throw signal.reason;
    const { run } = await this.startRun(planDoc, {
      inputs,
      owner: parent.owner,
      idempotencyKey: key,
      parent: { run_id: parent.run_id, step_id: parentStepId, root_run_id: parent.root_run_id },
    });
    // A stopped parent step stops its child run. A lost lease or store does not: the runner that takes the
    // parent over runs this step again and finds the same child run by its idempotency key.
    const onAbort = (): void => {
      if (isMaestroError(signal.reason) && stopsChildRuns.has(signal.reason.code))
        void this.cancelIfUnfinished(run.run_id).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return (await this.executeRun(run.run_id, { signal })) ?? run;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Asks every unfinished child run of a run to stop; each stops its own children in turn. */
  private async cancelChildRuns(runId: string): Promise<void> {
    for (let cursor: string | undefined; ;) {
      const page = await this.store.listRuns({ parent_run_id: runId }, { limit: 500, ...(cursor ? { cursor } : {}) });
      for (const child of page.items)
        if (!isTerminalRunStatus(child.status)) await this.cancelIfUnfinished(child.run_id);
      if (!page.next_cursor) return;
      cursor = page.next_cursor;
    }
  }

  /** cancelRun, for a run that may end on its own meanwhile (a child whose end races its parent's stop). */
  private async cancelIfUnfinished(runId: string): Promise<void> {
    try {
      await this.cancelRun(runId);
    } catch (error) {
      if (!isMaestroError(error, 'RUN_ILLEGAL_TRANSITION')) throw error;
    }
  }

  /**
   * A worker: claims runs that no live runner holds (new ones from the API or `--detach`, or those of a dead
   * runner) and drives them, up to `maxRuns` at once, until the signal aborts; then finishes what it has.
   */
  async work(options: { signal: AbortSignal; maxRuns?: number; onError?: (error: unknown) => void }): Promise<void> {
    const active = new Set<Promise<unknown>>();
    const maxRuns = options.maxRuns ?? 4;
    while (!options.signal.aborted) {
      if (active.size >= maxRuns) {
        await Promise.race(active);
        continue;
      }
      let claimed: RunDocument | undefined;
      try {
        claimed = await this.store.claimRun(undefined, {
          owner: this.runnerId,
          now: isoNow(this.clock),
          expires_at: this.leases.expiry(),
        });
      } catch (error) {
        options.onError?.(error);
      }
      if (!claimed) {
        await sleepOn(this.clock, this.options.pollMs, options.signal);
        continue;
      }
      const driving = this.drive(claimed)
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => active.delete(driving));
      active.add(driving);
    }
    await Promise.allSettled(active);
  }

  async getRunDetail(runId: string) {
    const detail = await this.store.getRunDetail(runId);
    if (!detail) throw new MaestroError('RUN_NOT_FOUND', `no run ${runId}`, { details: { run_id: runId } });
    return detail;
  }

  private async requireRun(runId: string): Promise<RunDocument> {
    const run = await this.store.getRun(runId);
    if (!run) throw new MaestroError('RUN_NOT_FOUND', `no run ${runId}`, { details: { run_id: runId } });
    return run;
  }

  /** Stops lease renewal; the store stays open (its owner closes it). */
  close(): void {
    this.leases.stop();
  }
}

/** What makes two starts under one idempotency key the same request. */
function startRequestDigest(planDoc: PlanDocument, inputs: Record<string, unknown>, options: StartRunOptions): string {
  return planVersion({
    plan_id: planDoc.plan_id,
    plan_version: planDoc.version,
    inputs,
    labels: options.labels ?? {},
    parent: options.parent ?? null,
    rerun_of: options.rerunOf ?? null,
  });
}

/**
 * The sandbox layout of a runner, or undefined when exec steps run without one. `auto` probes for bubblewrap only
 * when the first exec step asks (a command that runs none, like `validate`, never starts it); `on` checks at once.
 */
function sandboxOf(mode: SandboxMode, workspace: string, hiddenPaths: readonly string[]): EngineServices['sandbox'] {
  if (mode === 'on' && !isBubblewrapAvailable())
    throw new MaestroError('CONFIG_INVALID', 'the exec sandbox is on but bwrap (bubblewrap) is not installed', {
      details: { path: 'sandbox', expected: 'bwrap on PATH, or sandbox auto/off' },
    });
  const state = join(workspace, '.maestro');
  const layout = {
    readOnly: [state],
    hidden: [join(state, 'store'), join(state, 'keys'), ...hiddenPaths.map((path) => resolve(path))],
  };
  return () => (mode !== 'off' && isBubblewrapAvailable() ? layout : undefined);
}

function splitWriteOnly(
  inputs: Record<string, unknown>,
  writeOnly: ReadonlySet<string>,
): { stored: Record<string, unknown>; held?: Record<string, unknown> } {
  const names = Object.keys(inputs).filter((name) => writeOnly.has(name));
  if (names.length === 0) return { stored: inputs };
  const stored = { ...inputs };
  const held: Record<string, unknown> = {};
  for (const name of names) {
    defineOwn(held, name, inputs[name]);
    defineOwn(stored, name, MASK);
  }
  return { stored, held };
}

function reuseIfAsked(step: StepDocument, reuse: ReadonlyMap<string, StepDocument> | undefined): StepDocument {
  const old = reuse?.get(step.key);
  if (!old) return step;
  return {
    ...step,
    status: 'succeeded',
    skip_reason: 'reused',
    outputs: old.outputs ?? {},
    ...(old.cost ? { cost: old.cost } : {}),
    ended_at: step.created_at,
  };
}
