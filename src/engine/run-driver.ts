import { join } from 'node:path';
import type { ErrorInfo, EventDocument, RunDocument, StepDocument } from '../generated/schemas.js';
import { addMs, isoNow } from '../domain/clock.js';
import { MaestroError, toMaestroError } from '../domain/errors.js';
import { isTerminalRunStatus, isTerminalStepStatus, type StepStatus } from '../domain/status.js';
import { EventType } from '../events/event-types.js';
import { assertJsonWithin, Limits } from '../domain/json-limits.js';
import { RUN_MEMBERS } from '../plan/check-references.js';
import type { CompiledPlan, CompiledStep } from '../plan/compile-plan.js';
import {
  evaluateNode,
  evaluateValue,
  forEachString,
  hasExpression,
  parseTemplate,
  referencedStepIds,
  type ExpressionContext,
} from '../plan/expressions.js';
import { findSchemaFault } from '../schema/validators.js';
import type { LeaseToken } from '../store/port.js';
import type { EngineServices } from './engine-services.js';
import type { StepContext, UpstreamStep } from './step-context.js';
import { assertStepKindAllowed } from './kind-policy.js';
import { SecretMasker } from './secrets/secret-masker.js';
import { resolveStepSecrets } from './secrets/step-secrets.js';
import { StepLog } from './step-log.js';
import { settleWithinBound } from './stop-bound.js';
import { buildForeachCopies, parentKeyOf, planStepIdOf, roleOf } from './step-tree.js';

/** A lease owner that no runner ever is: steps waiting for an outside status update. */
export const EXTERNAL_LEASE_OWNER = 'external';
const FOREVER = '9999-12-31T23:59:59.999Z';

type AttemptOutcome =
  | {
      kind: 'succeeded';
      key: string;
      token: LeaseToken;
      outputs: Record<string, unknown>;
      cost: number;
      logsRef: string;
      childRunId?: string;
    }
  | { kind: 'await_external'; key: string; token: LeaseToken; cost: number; logsRef: string }
  | { kind: 'failed'; key: string; token: LeaseToken; error: MaestroError; cost: number; logsRef: string };

/** `STEP_TIMEOUT` -> `step_timeout`: the form of codes in `error_info` documents. */
export function errorInfoOf(error: MaestroError, attempt?: number): ErrorInfo {
  return {
    message: error.message,
    code: error.code.toLowerCase(),
    ...(attempt === undefined ? {} : { attempt }),
    ...(Object.keys(error.details).length > 0
      ? { details: JSON.parse(JSON.stringify(error.details)) as Record<string, unknown> }
      : {}),
  };
}

const readsCache = new WeakMap<CompiledStep, string[]>();
/** The step ids a step's expressions read, so only those are put in its context. */
function readsOf(step: CompiledStep): string[] {
  let reads = readsCache.get(step);
  if (!reads) {
    const found = new Set<string>();
    const collect = (value: unknown): void =>
      forEachString(value, '$', (text) => {
        if (hasExpression(text))
          for (const node of parseTemplate(text)) for (const id of referencedStepIds(node)) found.add(id);
      });
    collect(step.spec.with ?? {});
    if (typeof step.spec.foreach === 'string') collect(step.spec.foreach);
    if (step.condition) for (const id of referencedStepIds(step.condition)) found.add(id);
    reads = [...found];
    readsCache.set(step, reads);
  }
  return reads;
}

/**
 * Drives one run while this runner holds its lease: starts ready steps, records every result in the store
 * before announcing it, and ends the run. It keeps a mirror of the run's steps, refreshed from the store for
 * the steps something outside (a person, an external worker, another runner) may change.
 */
export class RunDriver {
  private readonly steps = new Map<string, StepDocument>();
  private readonly keyById = new Map<string, string>();
  private readonly dependants = new Map<string, string[]>();
  private readonly childrenOf = new Map<string, string[]>();
  private readonly dirty = new Set<string>();
  /** Steps ready to start but held back by a concurrency limit, in the order they became ready. */
  private readonly blocked = new Set<string>();
  // Counters keep scheduling linear in the number of steps: a join of 10,000 needs is not rescanned 10,000 times.
  private readonly unfinishedNeeds = new Map<string, number>();
  private readonly unfinishedChildren = new Map<string, number>();
  private readonly finished = new Set<string>();
  private unfinishedTopLevel = 0;
  private readonly watched = new Set<string>();
  private readonly inFlight = new Map<string, AbortController>();
  private readonly settled: AttemptOutcome[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private wake: (() => void) | undefined;
  private lostRun = false;
  private stopping: MaestroError | undefined;
  private lastRunRead = 0;
  private lastRefresh = 0;
  private auditRecorded = false;
  private readonly runToken: LeaseToken;
  /** Every secret value this run resolved here, and its write-only inputs: masked wherever a value leaves. */
  private readonly masker = new SecretMasker();

  constructor(
    private readonly services: EngineServices,
    private readonly compiled: CompiledPlan,
    private readonly planDirectory: string,
    private run: RunDocument,
    /** reconcile: record what outside updates imply (groups, run end) without executing any step, then let go. */
    private readonly mode: 'execute' | 'reconcile' = 'execute',
  ) {
    this.runToken = { owner: run.lease!.owner, fence: run.lease!.fence };
    for (const value of Object.values(services.writeOnlyInputsOf(run.run_id) ?? {}))
      if (typeof value === 'string') this.masker.add(value);
  }

  async drive(): Promise<RunDocument> {
    const { leases } = this.services;
    leases.hold('run', this.run.run_id, this.runToken, () => {
      this.lostRun = true;
      this.abortAll(
        new MaestroError('LEASE_LOST', `runner ${this.runToken.owner} lost the lease of run ${this.run.run_id}`),
      );
    });
    try {
      const resumed = this.run.status === 'running';
      await this.markStarted();
      this.loadSteps(await this.services.store.listSteps(this.run.run_id));
      if (resumed) await this.recordMissingEvents();
      for (const key of this.steps.keys()) this.dirty.add(key);
      for (;;) {
        await this.processSettled();
        if (this.lostRun) throw new MaestroError('LEASE_LOST', `another runner took over run ${this.run.run_id}`);
        await this.readRunIfDue();
        const stop = this.stopping ?? this.findStopReason();
        if (stop) return await this.stopAndFinish(stop);
        await this.schedule();
        if (this.isComplete()) return await this.finish();
        if (this.mode === 'reconcile') {
          await this.services.store.releaseRunLease(this.run.run_id, this.runToken);
          return this.run;
        }
        await this.waitForWork();
        await this.refreshWatched();
        // Held back by slots another run used: try again when there is room.
        if (this.dirty.size === 0 && this.blocked.size > 0) this.releaseBlocked();
      }
    } catch (error) {
      // The store is gone past its outage limit, or the lease was lost: stop the steps still running here;
      // the run stays as stored, for `resume` (or another runner) to continue.
      this.abortAll(error instanceof MaestroError ? error : new MaestroError('INTERNAL', String(error)));
      throw error;
    } finally {
      leases.release('run', this.run.run_id);
      for (const timer of this.retryTimers) clearTimeout(timer);
    }
  }

  // ---- state

  private loadSteps(docs: StepDocument[]): void {
    const added: StepDocument[] = [];
    for (const doc of docs) {
      const known = this.steps.has(doc.key);
      this.steps.set(doc.key, doc);
      this.keyById.set(doc.step_id, doc.key);
      if (known) continue;
      added.push(doc);
      for (const need of doc.needs) {
        const list = this.dependants.get(need);
        if (list) list.push(doc.key);
        else this.dependants.set(need, [doc.key]);
      }
      const parentKey = this.parentKeyOf(doc);
      const siblings = this.childrenOf.get(parentKey);
      if (siblings) siblings.push(doc.key);
      else this.childrenOf.set(parentKey, [doc.key]);
    }
    // Counted once all new documents are in, so needs and children loaded together see each other.
    for (const doc of added) {
      if (isTerminalStepStatus(doc.status)) {
        this.finished.add(doc.key);
        continue;
      }
      this.unfinishedNeeds.set(doc.key, doc.needs.filter((need) => !this.finished.has(need)).length);
      const parentKey = this.parentKeyOf(doc);
      if (parentKey === '') this.unfinishedTopLevel += 1;
      else this.unfinishedChildren.set(parentKey, (this.unfinishedChildren.get(parentKey) ?? 0) + 1);
    }
  }

  /** A foreach copy (`each[2]`) belongs to its fanout step (`each`); anything else to the enclosing key ('' at the top). */
  private parentKeyOf(doc: StepDocument): string {
    return doc.index !== undefined ? doc.key.replace(/\[\d+\]$/, '') : (parentKeyOf(doc.key) ?? '');
  }

  private compiledOf(doc: StepDocument): CompiledStep {
    return this.compiled.steps.get(planStepIdOf(doc.key))!;
  }

  private parentOf(doc: StepDocument): StepDocument | undefined {
    if (doc.parent_step_id === undefined) return undefined;
    const key = this.keyById.get(doc.parent_step_id);
    return key === undefined ? undefined : this.steps.get(key);
  }

  private put(doc: StepDocument): void {
    this.steps.set(doc.key, doc);
  }

  /** A finished step wakes what waits on it: dependants with no unfinished need left, and its parent once all its children are done. */
  private markFinished(doc: StepDocument): void {
    if (this.finished.has(doc.key)) return;
    this.finished.add(doc.key);
    for (const key of this.dependants.get(doc.key) ?? []) {
      const left = (this.unfinishedNeeds.get(key) ?? 1) - 1;
      this.unfinishedNeeds.set(key, left);
      if (left <= 0) this.dirty.add(key);
    }
    const parentKey = this.parentKeyOf(doc);
    if (parentKey === '') {
      this.unfinishedTopLevel -= 1;
    } else {
      const left = (this.unfinishedChildren.get(parentKey) ?? 1) - 1;
      this.unfinishedChildren.set(parentKey, left);
      if (left <= 0) this.dirty.add(parentKey);
    }
    this.releaseBlocked();
  }

  /** Moves as many held-back steps back to scheduling as there is room for. */
  private releaseBlocked(): void {
    const limit = this.compiled.plan.concurrency ?? this.services.slots.capacity;
    let room = Math.max(1, limit - this.inFlight.size);
    for (const key of this.blocked) {
      if (room <= 0) break;
      this.blocked.delete(key);
      this.dirty.add(key);
      room -= 1;
    }
  }

  private isComplete(): boolean {
    return this.inFlight.size === 0 && this.settled.length === 0 && this.unfinishedTopLevel <= 0;
  }

  /** True once the run is in a terminal status (its in-memory write-only inputs can go). */
  get hasEnded(): boolean {
    return isTerminalRunStatus(this.run.status);
  }

  /** Something changed the run document (a cancel request): read it on the next turn of the loop, now. */
  poke(): void {
    this.lastRunRead = 0;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private now(): string {
    return isoNow(this.services.clock);
  }

  // ---- run level

  private async markStarted(): Promise<void> {
    if (this.run.status !== 'pending') return;
    const started = await this.services.store.updateRun(
      this.run.run_id,
      { statusIn: ['pending'], lease: this.runToken },
      { status: 'running', started_at: this.now() },
    );
    if (!started) throw new MaestroError('LEASE_LOST', `run ${this.run.run_id} changed under its runner`);
    this.run = started;
    await this.services.events.record(this.run.run_id, EventType.runStarted, { runner: this.runToken.owner });
  }

  /**
   * A runner killed between a step's write and its event leaves the event unwritten; the next runner writes it
   * (marked `recovered`), so every state change has its event, in seq order after what was already there.
   */
  private async recordMissingEvents(): Promise<void> {
    // A terminal event happens once per step; a retrying event once per failed attempt.
    const recorded = new Set<string>();
    for (let after = 0; ;) {
      const batch = await this.services.store.listEvents(this.run.run_id, after, 5_000);
      for (const event of batch)
        recorded.add(
          `${event.step_id ?? ''}:${event.type}${event.type === EventType.stepRetrying ? `:${String(event.data.attempt)}` : ''}`,
        );
      if (batch.length < 5_000) break;
      after = batch[batch.length - 1]!.seq;
    }
    const terminalEvent: Record<string, EventDocument['type']> = {
      succeeded: EventType.stepSucceeded,
      failed: EventType.stepFailed,
      skipped: EventType.stepSkipped,
      cancelled: EventType.stepCancelled,
    };
    for (const step of this.steps.values()) {
      if (step.skip_reason === 'reused') continue;
      const retrying = step.status === 'pending' && step.attempt > 0;
      const type = retrying ? EventType.stepRetrying : terminalEvent[step.status];
      if (!type || recorded.has(`${step.step_id}:${type}${retrying ? `:${step.attempt}` : ''}`)) continue;
      await this.services.events.record(
        this.run.run_id,
        type,
        { key: step.key, ...(step.attempt > 0 ? { attempt: step.attempt } : {}), recovered: true },
        step.step_id,
      );
    }
  }

  private async readRunIfDue(): Promise<void> {
    const now = Date.now();
    if (now - this.lastRunRead < this.services.pollMs) return;
    this.lastRunRead = now;
    const fresh = await this.services.store.getRun(this.run.run_id);
    if (fresh) this.run = fresh;
  }

  /** Cancellation, or a budget crossed (audit mode only records it). */
  private findStopReason(): MaestroError | undefined {
    if (this.run.cancel_requested_at) return new MaestroError('CANCELLED', `run ${this.run.run_id} was cancelled`);
    const budget = this.run.budget;
    const crossed: Record<string, unknown> | undefined =
      budget.max_cost !== undefined && this.run.usage.cost > budget.max_cost
        ? { kind: 'max_cost', limit: budget.max_cost, value: this.run.usage.cost }
        : budget.max_duration_ms !== undefined &&
            this.run.started_at &&
            Date.now() - Date.parse(this.run.started_at) > budget.max_duration_ms
          ? {
              kind: 'max_duration_ms',
              limit: budget.max_duration_ms,
              value: Date.now() - Date.parse(this.run.started_at),
            }
          : undefined;
    if (!crossed) return undefined;
    if (budget.mode === 'audit') {
      if (!this.auditRecorded) {
        this.auditRecorded = true;
        void this.services.events.record(this.run.run_id, EventType.budgetExceeded, { ...crossed, mode: 'audit' });
      }
      return undefined;
    }
    return new MaestroError(
      'BUDGET_EXCEEDED',
      `run crossed its ${String(crossed.kind)} budget (${String(crossed.value)} > ${String(crossed.limit)})`,
      { details: crossed },
    );
  }

  private abortAll(reason: MaestroError): void {
    for (const controller of this.inFlight.values()) controller.abort(reason);
    this.notify();
  }

  private async stopAndFinish(reason: MaestroError): Promise<RunDocument> {
    if (!this.stopping) {
      this.stopping = reason;
      if (reason.code === 'BUDGET_EXCEEDED')
        await this.services.events.record(this.run.run_id, EventType.budgetExceeded, {
          ...reason.details,
          mode: 'enforce',
        });
      this.abortAll(reason);
    }
    while (this.inFlight.size > 0 || this.settled.length > 0) {
      await this.processSettled();
      if (this.inFlight.size > 0) await this.waitForWork();
    }
    const skipReason = reason.code === 'BUDGET_EXCEEDED' ? 'budget_exceeded' : 'cancelled';
    for (const doc of [...this.steps.values()]) {
      if (isTerminalStepStatus(doc.status)) continue;
      const cancelled = await this.services.store.updateStep(
        doc.step_id,
        { statusIn: [doc.status] },
        { status: 'cancelled', skip_reason: skipReason, ended_at: this.now(), error_info: errorInfoOf(reason) },
      );
      if (cancelled) {
        this.put(cancelled);
        await this.services.events.record(
          this.run.run_id,
          EventType.stepCancelled,
          { key: cancelled.key, reason: skipReason },
          cancelled.step_id,
        );
      }
    }
    // Child runs that no step of this runner was waiting on (their runner is elsewhere, or none) stop too.
    await this.services.cancelChildRuns(this.run.run_id);
    return this.finish(reason);
  }

  private async finish(stop?: MaestroError): Promise<RunDocument> {
    const topLevel = (this.childrenOf.get('') ?? []).map((key) => this.steps.get(key)!);
    const failedStep = topLevel.find((doc) => doc.status === 'failed' && !this.compiledOf(doc).continueOnError);
    const status = stop?.code === 'CANCELLED' ? 'cancelled' : stop || failedStep ? 'failed' : 'succeeded';
    let outputs: Record<string, unknown> | undefined;
    let errorInfo: ErrorInfo | undefined = stop
      ? errorInfoOf(stop)
      : failedStep
        ? {
            code: 'step_failed',
            message: `step ${failedStep.key} failed${failedStep.error_info ? `: ${failedStep.error_info.message}` : ''}`,
            details: { step_id: failedStep.step_id, key: failedStep.key },
          }
        : undefined;
    if (status === 'succeeded' && this.compiled.plan.outputs) {
      try {
        outputs = evaluateValue(this.compiled.plan.outputs, this.contextFor(undefined)) as Record<string, unknown>;
      } catch (error) {
        errorInfo = errorInfoOf(toMaestroError(error, 'EXPRESSION_INVALID'));
      }
    }
    const endedAt = this.now();
    const finalStatus = errorInfo && status === 'succeeded' ? 'failed' : status;
    const ended = await this.services.store.updateRun(
      this.run.run_id,
      { statusIn: ['running', 'pending'], lease: this.runToken },
      {
        status: finalStatus,
        ended_at: endedAt,
        duration_ms: Math.max(0, Date.parse(endedAt) - Date.parse(this.run.started_at ?? this.run.created_at)),
        ...(outputs ? { outputs } : {}),
        ...(errorInfo ? { error_info: errorInfo } : {}),
      },
    );
    if (!ended)
      throw new MaestroError('LEASE_LOST', `run ${this.run.run_id} could not be ended: another runner holds it`);
    this.run = ended;
    const type =
      finalStatus === 'succeeded'
        ? EventType.runSucceeded
        : finalStatus === 'cancelled'
          ? EventType.runCancelled
          : EventType.runFailed;
    await this.services.events.record(this.run.run_id, type, {
      status: finalStatus,
      ...(errorInfo ? { error_info: errorInfo } : {}),
      usage: ended.usage,
    });
    return ended;
  }

  // ---- scheduling

  private async schedule(): Promise<void> {
    while (this.dirty.size > 0) {
      const keys = [...this.dirty];
      this.dirty.clear();
      for (const key of keys) {
        if (this.stopping || this.lostRun) return;
        await this.examine(key);
      }
    }
  }

  private async examine(key: string): Promise<void> {
    const doc = this.steps.get(key);
    if (!doc || isTerminalStepStatus(doc.status) || this.inFlight.has(key)) return;
    const parent = this.parentOf(doc);
    if (parent && parent.status !== 'running') return;
    const compiled = this.compiledOf(doc);
    const role = roleOf(compiled, doc);

    if (doc.status === 'running') {
      if (role !== 'leaf') return this.completeContainerIfDone(doc, role);
      // Running but not ours: an external update is awaited, or another runner holds (or held) it.
      if (doc.lease && doc.lease.owner !== EXTERNAL_LEASE_OWNER && Date.parse(doc.lease.expires_at) < Date.now())
        return this.launch(doc);
      this.watched.add(key);
      return;
    }

    if ((this.unfinishedNeeds.get(key) ?? 0) > 0) return;
    const needs = doc.needs
      .map((needKey) => this.steps.get(needKey))
      .filter((need): need is StepDocument => need !== undefined);
    const failedNeed = needs.find(
      (need) => need.status === 'cancelled' || (need.status === 'failed' && !this.compiledOf(need).continueOnError),
    );
    if (failedNeed) return this.skip(doc, 'upstream_failed');
    if (!compiled.condition && needs.some((need) => need.status === 'skipped'))
      return this.skip(doc, 'upstream_skipped');
    if (compiled.condition) {
      let pass: boolean;
      try {
        pass = Boolean(evaluateNode(compiled.condition, this.contextFor(doc)));
      } catch (error) {
        return this.failWithoutRunning(doc, toMaestroError(error, 'EXPRESSION_INVALID'));
      }
      if (!pass) return this.skip(doc, 'condition_false');
    }
    if (role === 'group') return this.startContainer(doc);
    if (role === 'fanout') return this.startFanout(doc, compiled);
    if (doc.ready_at && Date.parse(doc.ready_at) > Date.now()) return this.wakeAt(key, doc.ready_at);
    return this.launch(doc);
  }

  private wakeAt(key: string, at: string): void {
    const timer = setTimeout(
      () => {
        this.retryTimers.delete(timer);
        this.dirty.add(key);
        this.notify();
      },
      Math.max(0, Date.parse(at) - Date.now()),
    );
    this.retryTimers.add(timer);
  }

  private async skip(doc: StepDocument, reason: NonNullable<StepDocument['skip_reason']>): Promise<void> {
    const skipped = await this.services.store.updateStep(
      doc.step_id,
      { statusIn: ['pending'] },
      { status: 'skipped', skip_reason: reason, ended_at: this.now() },
    );
    if (!skipped) return this.refreshOne(doc.key);
    this.put(skipped);
    await this.services.events.record(this.run.run_id, EventType.stepSkipped, { key: doc.key, reason }, doc.step_id);
    // The nested steps of a skipped group never run either.
    for (const childKey of this.childrenOf.get(doc.key) ?? []) {
      const child = this.steps.get(childKey);
      if (child && child.status === 'pending')
        await this.skip(child, reason === 'condition_false' ? 'upstream_skipped' : reason);
    }
    this.markFinished(skipped);
  }

  private async failWithoutRunning(doc: StepDocument, error: MaestroError): Promise<void> {
    const failed = await this.services.store.updateStep(
      doc.step_id,
      { statusIn: ['pending', 'running'] },
      { status: 'failed', ended_at: this.now(), error_info: errorInfoOf(error) },
    );
    if (!failed) return this.refreshOne(doc.key);
    this.put(failed);
    await this.services.events.record(
      this.run.run_id,
      EventType.stepFailed,
      { key: doc.key, error: errorInfoOf(error) },
      doc.step_id,
    );
    for (const childKey of this.childrenOf.get(doc.key) ?? []) {
      const child = this.steps.get(childKey);
      if (child && child.status === 'pending') await this.skip(child, 'upstream_failed');
    }
    this.markFinished(failed);
  }

  private async startContainer(doc: StepDocument): Promise<void> {
    const started = await this.services.store.updateStep(
      doc.step_id,
      { statusIn: ['pending'] },
      { status: 'running', started_at: this.now() },
    );
    if (!started) return this.refreshOne(doc.key);
    this.put(started);
    await this.services.events.record(
      this.run.run_id,
      EventType.stepStarted,
      { key: doc.key, attempt: 0 },
      doc.step_id,
    );
    for (const childKey of this.childrenOf.get(doc.key) ?? []) this.dirty.add(childKey);
    this.dirty.add(doc.key);
  }

  private async startFanout(doc: StepDocument, compiled: CompiledStep): Promise<void> {
    let items: unknown;
    try {
      // A literal array and an expression are both resolved by evaluateValue (a literal array may hold expressions).
      items = evaluateValue(compiled.spec.foreach, this.contextFor(doc));
    } catch (error) {
      return this.failWithoutRunning(doc, toMaestroError(error, 'EXPRESSION_INVALID'));
    }
    if (Array.isArray(items) && items.length > Limits.foreachItems) {
      return this.failWithoutRunning(
        doc,
        new MaestroError(
          'LIMIT_EXCEEDED',
          `foreach of ${doc.key} gave ${items.length} items, more than ${Limits.foreachItems}`,
          {
            details: {
              path: `${compiled.path}.foreach`,
              limit: 'foreach_items',
              expected: `at most ${Limits.foreachItems} items`,
            },
          },
        ),
      );
    }
    if (!Array.isArray(items)) {
      return this.failWithoutRunning(
        doc,
        new MaestroError(
          'EXPRESSION_INVALID',
          `foreach of ${doc.key} gave ${items === null ? 'null' : typeof items}, not an array`,
          { details: { path: `${compiled.path}.foreach` } },
        ),
      );
    }
    // Copies first, then the parent turns running: a resumed runner that sees it running finds its copies.
    await this.services.store.insertSteps(buildForeachCopies(this.compiled, doc, items, this.now()));
    this.loadSteps(await this.services.store.listSteps(this.run.run_id));
    await this.startContainer(doc);
  }

  private async completeContainerIfDone(doc: StepDocument, role: 'group' | 'fanout'): Promise<void> {
    if ((this.unfinishedChildren.get(doc.key) ?? 0) > 0) return;
    const children = (this.childrenOf.get(doc.key) ?? []).map((key) => this.steps.get(key)!);
    const failedChild = children.find(
      (child) => child.status === 'cancelled' || (child.status === 'failed' && !this.compiledOf(child).continueOnError),
    );
    const outputs =
      role === 'fanout'
        ? { items: [...children].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((child) => child.outputs ?? {}) }
        : Object.fromEntries(children.map((child) => [planStepIdOf(child.key), child.outputs ?? {}]));
    const status: StepStatus = failedChild ? 'failed' : 'succeeded';
    const cost = children.reduce((sum, child) => sum + (child.cost ?? 0), 0);
    const done = await this.services.store.updateStep(
      doc.step_id,
      { statusIn: ['running'] },
      {
        status,
        outputs,
        ended_at: this.now(),
        ...(cost > 0 ? { cost } : {}),
        ...(failedChild
          ? {
              error_info: {
                code: 'step_failed',
                message: `nested step ${failedChild.key} ${failedChild.status}`,
                details: { key: failedChild.key },
              },
            }
          : {}),
      },
    );
    if (!done) return this.refreshOne(doc.key);
    this.put(done);
    await this.services.events.record(
      this.run.run_id,
      failedChild ? EventType.stepFailed : EventType.stepSucceeded,
      { key: doc.key, ...(done.error_info ? { error: done.error_info } : {}) },
      doc.step_id,
    );
    this.markFinished(done);
  }

  // ---- leaf execution

  private async launch(doc: StepDocument): Promise<void> {
    if (this.mode === 'reconcile') {
      this.watched.add(doc.key);
      return;
    }
    const runLimit = this.compiled.plan.concurrency ?? Number.POSITIVE_INFINITY;
    if (this.inFlight.size >= runLimit || !this.services.slots.tryAcquire()) {
      this.blocked.add(doc.key);
      return;
    }
    const claimed = await this.services.store
      .claimStep(doc.step_id, {
        owner: this.runToken.owner,
        now: this.now(),
        expires_at: this.services.leases.expiry(),
      })
      .catch((error: unknown) => {
        this.services.slots.release();
        throw error;
      });
    if (!claimed) {
      this.services.slots.release();
      this.watched.add(doc.key);
      return;
    }
    const takeover = doc.status === 'running';
    this.put(claimed);
    const token = { owner: claimed.lease!.owner, fence: claimed.lease!.fence };
    const controller = new AbortController();
    this.inFlight.set(doc.key, controller);
    this.watched.delete(doc.key);
    this.services.leases.hold('step', claimed.step_id, token, () =>
      controller.abort(new MaestroError('LEASE_LOST', `runner ${token.owner} lost the lease of step ${claimed.key}`)),
    );
    await this.services.events.record(
      this.run.run_id,
      EventType.stepStarted,
      { key: claimed.key, attempt: claimed.attempt, ...(takeover ? { takeover: true } : {}) },
      claimed.step_id,
    );
    void this.attempt(claimed, token, controller).then((outcome) => {
      this.settled.push(outcome);
      this.notify();
    });
  }

  /** Runs one attempt; never throws: every ending is an outcome for the loop to record. */
  private async attempt(step: StepDocument, token: LeaseToken, controller: AbortController): Promise<AttemptOutcome> {
    const compiled = this.compiledOf(step);
    const logsRef = join(
      this.services.logsDir,
      this.run.run_id,
      `${step.key.replace(/[^A-Za-z0-9._[\]-]/g, '_')}.${step.attempt}.log`,
    );
    const log = new StepLog(logsRef, this.masker);
    let cost = 0;
    const timer = compiled.timeoutMs
      ? setTimeout(
          () =>
            controller.abort(
              new MaestroError(
                'STEP_TIMEOUT',
                `step ${step.key} ran longer than its timeout of ${compiled.timeoutMs} ms`,
                { details: { timeout_ms: compiled.timeoutMs } },
              ),
            ),
          compiled.timeoutMs,
        )
      : undefined;
    try {
      const executor = this.services.executors.get(step.uses ?? '');
      if (!executor)
        throw new MaestroError('EXECUTOR_UNKNOWN', `no executor for step kind "${step.uses}" on this runner`, {
          retryable: false,
        });
      const base = this.contextFor(step);
      const context = { ...base, inputs: this.inputsWithWriteOnly(), secrets: await this.resolveSecrets(compiled) };
      let args: Record<string, unknown>;
      try {
        args = evaluateValue(compiled.spec.with ?? {}, context) as Record<string, unknown>;
      } catch (error) {
        throw toMaestroError(error, 'EXPRESSION_INVALID');
      }
      // Resolved args decide whether an exec step asks for a shell.
      assertStepKindAllowed({ uses: step.uses, with: args }, compiled.id, compiled.path, this.services.kindPolicy);
      if (executor.withSchema) {
        const fault = findSchemaFault(executor.withSchema, args);
        if (fault)
          throw new MaestroError(
            'INPUT_INVALID',
            `step ${step.key}: resolved with is invalid at ${fault.path}: expected ${fault.expected}`,
            {
              retryable: false,
              details: { path: `${compiled.path}.with${fault.path.slice(1)}`, expected: fault.expected },
            },
          );
      }
      const { services } = this;
      const passthrough = this.compiled.plan.env_passthrough ?? [];
      const stepContext: StepContext = {
        run: this.run,
        step,
        args,
        inputs: context.inputs,
        upstream: base.steps as Record<string, UpstreamStep>,
        attempt: step.attempt,
        idempotencyKey: `${this.run.run_id}:${step.key}:${step.attempt}`,
        signal: controller.signal,
        workspace: this.services.workspace,
        // Only programs need these: built when an executor reads them, not for every attempt of every kind.
        get environment() {
          return services.execEnvironment(passthrough);
        },
        get sandbox() {
          return services.sandbox();
        },
        logPath: logsRef,
        logger: log,
        planDirectory: this.planDirectory,
        attachArtifact: (request) =>
          this.services.attachArtifact(this.run, step.step_id, this.masker.maskValue(request)),
        addProvenance: (refs) => this.services.addProvenance(this.run.run_id, refs),
        reportCost: (amount) => {
          if (Number.isFinite(amount) && amount > 0) cost = Math.min(cost + amount, Limits.maxCost);
        },
        runChildPlan: async (planPath, inputs) => {
          const child = await this.services.runChildPlan(
            this.run,
            step.step_id,
            `${this.run.run_id}:${step.key}:child`,
            planPath,
            inputs,
            controller.signal,
          );
          cost += child.usage.cost;
          return child;
        },
      };
      const result = await settleWithinBound(executor.execute(stepContext), controller.signal);
      if (controller.signal.aborted) throw controller.signal.reason;
      if (result.awaitExternal) return { kind: 'await_external', key: step.key, token, cost, logsRef };
      // Nothing a step returns is stored before every secret in it is masked, nor when it is too big to store.
      const outputs = this.masker.maskValue(result.outputs ?? {});
      assertJsonWithin(
        outputs,
        { maxDepth: Limits.jsonDepth, maxBytes: Limits.outputsBytes },
        `outputs of step ${step.key}`,
        'OUTPUT_TOO_LARGE',
      );
      return {
        kind: 'succeeded',
        key: step.key,
        token,
        outputs,
        cost,
        logsRef,
        ...(result.child_run_id ? { childRunId: result.child_run_id } : {}),
      };
    } catch (error) {
      const failure = this.maskError(
        controller.signal.aborted ? toMaestroError(controller.signal.reason) : toMaestroError(error, 'STEP_FAILED'),
      );
      log.error(failure.message);
      return { kind: 'failed', key: step.key, token, error: failure, cost, logsRef };
    } finally {
      if (timer) clearTimeout(timer);
      await log.close();
      this.services.leases.release('step', step.step_id);
      this.services.slots.release();
    }
  }

  // ---- secrets

  /** The run's inputs with the write-only ones this process holds in memory (stored redacted). */
  private inputsWithWriteOnly(): Record<string, unknown> {
    const held = this.services.writeOnlyInputsOf(this.run.run_id);
    return held ? { ...this.run.inputs, ...held } : this.run.inputs;
  }

  /** The secrets a step's `with` reads, resolved now; each value joins the run's masker. */
  private resolveSecrets(compiled: CompiledStep): Promise<Record<string, string>> {
    return resolveStepSecrets(compiled, {
      runId: this.run.run_id,
      writeOnlyInputs: this.compiled.names.writeOnlyInputs,
      held: this.services.writeOnlyInputsOf(this.run.run_id),
      provider: this.services.secrets,
      masker: this.masker,
    });
  }

  private maskError(error: MaestroError): MaestroError {
    if (this.masker.isEmpty) return error;
    return new MaestroError(error.code, this.masker.maskText(error.message), {
      retryable: error.retryable,
      details: this.masker.maskValue(error.details),
    });
  }

  private async processSettled(): Promise<void> {
    while (this.settled.length > 0) {
      const outcome = this.settled.shift()!;
      this.inFlight.delete(outcome.key);
      await this.recordOutcome(outcome);
    }
  }

  /** The one place an attempt's result is written: under its lease, so a stale runner's result is refused. */
  private async recordOutcome(outcome: AttemptOutcome): Promise<void> {
    const step = this.steps.get(outcome.key)!;
    const { store, events } = this.services;
    const guard = { lease: outcome.token, statusIn: ['running'] as const };
    if (outcome.cost > 0) await this.addCost(outcome.cost);

    if (outcome.kind === 'await_external') {
      const waiting = await store.updateStep(step.step_id, guard, {
        logs_ref: outcome.logsRef,
        lease: { owner: EXTERNAL_LEASE_OWNER, expires_at: FOREVER, fence: outcome.token.fence },
      });
      if (waiting) this.put(waiting);
      this.watched.add(step.key);
      return;
    }

    if (outcome.kind === 'succeeded') {
      try {
        for (const spec of this.compiledOf(step).spec.artifacts ?? []) {
          await this.services.attachArtifact(this.run, step.step_id, {
            type: spec.type,
            ...(spec.name ? { name: spec.name } : {}),
            ...(spec.path ? { path: spec.path } : {}),
            ...(spec.url ? { url: spec.url } : {}),
            ...(spec.media_type ? { media_type: spec.media_type } : {}),
          });
        }
      } catch (error) {
        return this.recordOutcome({
          kind: 'failed',
          key: outcome.key,
          token: outcome.token,
          error: toMaestroError(error, 'STEP_FAILED'),
          cost: 0,
          logsRef: outcome.logsRef,
        });
      }
      let done: StepDocument | undefined;
      try {
        done = await store.updateStep(step.step_id, guard, {
          status: 'succeeded',
          outputs: outcome.outputs,
          ended_at: this.now(),
          logs_ref: outcome.logsRef,
          ...(outcome.cost > 0 ? { cost: outcome.cost } : {}),
          ...(outcome.childRunId ? { child_run_id: outcome.childRunId } : {}),
        });
      } catch (error) {
        // A write that can never succeed fails the step (small, so it is written) instead of leaving it running
        // for every resume to run again; an outage (retryable) stops this runner, resumably.
        const failure = toMaestroError(error);
        if (failure.retryable) throw error;
        return this.recordOutcome({
          kind: 'failed',
          key: outcome.key,
          token: outcome.token,
          error: new MaestroError(failure.code, failure.message, { retryable: false, details: failure.details }),
          cost: 0,
          logsRef: outcome.logsRef,
        });
      }
      if (!done) return this.refreshOne(step.key);
      this.put(done);
      await events.record(
        this.run.run_id,
        EventType.stepSucceeded,
        { key: done.key, attempt: done.attempt, outputs: outcome.outputs },
        done.step_id,
      );
      this.markFinished(done);
      return;
    }

    const { error } = outcome;
    const compiled = this.compiledOf(step);
    const stopped =
      this.stopping ?? (error.code === 'CANCELLED' || error.code === 'BUDGET_EXCEEDED' ? error : undefined);
    if (error.code === 'LEASE_LOST') return this.refreshOne(step.key);
    if (!stopped && error.retryable && step.attempt < step.max_attempts) {
      const delay = Math.min(
        compiled.retry.backoff_ms * compiled.retry.backoff_factor ** (step.attempt - 1),
        compiled.retry.max_backoff_ms ?? Number.POSITIVE_INFINITY,
      );
      const readyAt = addMs(this.now(), delay);
      const retrying = await store.updateStep(step.step_id, guard, {
        status: 'pending',
        ready_at: readyAt,
        error_info: errorInfoOf(error, step.attempt),
        logs_ref: outcome.logsRef,
      });
      if (!retrying) return this.refreshOne(step.key);
      this.put(retrying);
      await events.record(
        this.run.run_id,
        EventType.stepRetrying,
        { key: step.key, attempt: step.attempt, next_attempt_at: readyAt, error: errorInfoOf(error) },
        step.step_id,
      );
      this.wakeAt(step.key, readyAt);
      return;
    }
    const status: StepStatus = stopped ? 'cancelled' : 'failed';
    const ended = await store.updateStep(step.step_id, guard, {
      status,
      ended_at: this.now(),
      error_info: errorInfoOf(error, step.attempt),
      logs_ref: outcome.logsRef,
      ...(outcome.cost > 0 ? { cost: outcome.cost } : {}),
    });
    if (!ended) return this.refreshOne(step.key);
    this.put(ended);
    await events.record(
      this.run.run_id,
      status === 'cancelled' ? EventType.stepCancelled : EventType.stepFailed,
      { key: step.key, attempt: step.attempt, error: errorInfoOf(error) },
      step.step_id,
    );
    this.markFinished(ended);
  }

  private async addCost(amount: number): Promise<void> {
    const updated = await this.services.store.addRunCost(this.run.run_id, amount);
    if (updated) this.run = updated;
  }

  // ---- waiting and outside changes

  private async waitForWork(): Promise<void> {
    if (this.settled.length > 0 || this.dirty.size > 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, this.services.pollMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Re-reads the steps something outside this runner may change, at most once per poll interval. */
  private async refreshWatched(): Promise<void> {
    if (this.watched.size === 0 || Date.now() - this.lastRefresh < this.services.pollMs) return;
    this.lastRefresh = Date.now();
    for (const key of [...this.watched]) await this.refreshOne(key);
  }

  private async refreshOne(key: string): Promise<void> {
    const known = this.steps.get(key);
    if (!known) return;
    const fresh = await this.services.store.getStep(known.step_id);
    if (!fresh) return;
    this.put(fresh);
    if (isTerminalStepStatus(fresh.status)) {
      this.watched.delete(key);
      if (fresh.cost && !known.cost && fresh.lease?.owner === EXTERNAL_LEASE_OWNER) await this.addCost(fresh.cost);
      this.markFinished(fresh);
    } else {
      this.dirty.add(key);
    }
  }

  // ---- expressions

  /** The `${{ }}` context of a step (or of the run's outputs when doc is undefined). */
  private contextFor(doc: StepDocument | undefined): ExpressionContext {
    const steps: Record<string, UpstreamStep> = {};
    // A step sees what its expressions read and what it needs (handlers read `upstream` in code).
    const ids = doc
      ? [...new Set([...readsOf(this.compiledOf(doc)), ...this.compiledOf(doc).needs])]
      : this.compiled.topLevelIds;
    for (const id of ids) {
      const found = doc ? this.lookupVisible(id, doc) : this.steps.get(id);
      if (found) steps[id] = { status: found.status, outputs: found.outputs ?? {} };
    }
    let item: unknown;
    let index: number | undefined;
    for (let cursor = doc; cursor; cursor = this.parentOf(cursor)) {
      if (cursor.index !== undefined) {
        item = cursor.item;
        index = cursor.index;
        break;
      }
    }
    return {
      inputs: this.run.inputs,
      steps,
      // The fields the compiler lets `run.<field>` read: one list, so the check and the value cannot drift apart.
      run: Object.fromEntries(RUN_MEMBERS.map((field) => [field, this.run[field]])),
      ...(index !== undefined ? { item, index } : {}),
    };
  }

  /** Step `id` as seen from `doc`: a sibling first, then the siblings of each enclosing group. */
  private lookupVisible(id: string, doc: StepDocument): StepDocument | undefined {
    for (let scope = parentKeyOf(doc.key); scope !== undefined; scope = parentKeyOf(scope)) {
      const found = this.steps.get(`${scope}.${id}`);
      if (found) return found;
    }
    return this.steps.get(id);
  }
}
