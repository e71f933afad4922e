import type { EventDataByType, RunDocument, StepDocument } from '../../generated/schemas.js';
import { isoNow, nowMs } from '../../domain/clock.js';
import type { MaestroError } from '../../domain/errors.js';
import { isTerminalStepStatus } from '../../domain/status.js';
import type { CompiledPlan } from '../../plan/compile-plan.js';
import type { ExpressionContext } from '../../plan/expressions.js';
import type { LeaseToken, StepGuard, StepPatch } from '../../store/port.js';
import type { EngineServices } from '../engine-services.js';
import { EXTERNAL_LEASE_OWNER } from './external-lease.js';
import { SecretMasker } from '../secrets/secret-masker.js';
import { RunEventQueue } from './run-event-queue.js';
import { RunLoop } from './run-loop.js';
import { RunSpans } from './run-spans.js';
import { StepGraph } from './step-graph.js';
import { expressionContextOf } from './step-scope.js';
import { stepConcurrency } from '../../plan/run-concurrency.js';

/** Up to this many watched steps are re-read one by one; more, with one read of the run's steps. */
const READ_ONE_BY_ONE = 8;

/** The events of one step's state changes. */
type StepEventType = Extract<keyof EventDataByType, `step.${string}`>;

/**
 * What the parts of one run's driver share: the run as last read, the step graph, the loop's bookkeeping (RunLoop,
 * changed through its verbs), and the one way a step's state changes (written under its guard, then announced). The
 * loop, the scheduler and the outcome recorder each work on it; none of them keeps a copy.
 */
export class DriverState {
  readonly graph: StepGraph;
  /** Which steps need a look, run here or elsewhere, are held back or watched; the outcomes to record. */
  readonly loop: RunLoop;
  /** Steps offered in this scheduling pass, to be written together at its end. */
  readonly offersToWrite = new Map<string, StepDocument>();
  readonly runToken: LeaseToken;
  /** Every secret value this run resolved here, and its write-only inputs: masked wherever a value leaves. */
  readonly masker = new SecretMasker();
  stopping: MaestroError | undefined;
  lostRun = false;
  /** The run's events, written behind its state changes. */
  readonly eventQueue: RunEventQueue;
  /** The run's span in this process, and the spans of its steps and attempts that are open. */
  readonly spans: RunSpans;
  private lastRefresh = Number.NEGATIVE_INFINITY;

  constructor(
    readonly services: EngineServices,
    readonly compiled: CompiledPlan,
    readonly planDirectory: string,
    public run: RunDocument,
    /** reconcile: record what outside updates imply (groups, run end) without executing any step, then let go. */
    readonly mode: 'execute' | 'reconcile',
  ) {
    this.graph = new StepGraph(compiled);
    this.spans = new RunSpans(run, (doc) => this.graph.parentOf(doc));
    this.runToken = { owner: run.lease!.owner, fence: run.lease!.fence };
    this.loop = new RunLoop(services.clock, services.pollMs);
    this.eventQueue = new RunEventQueue(services.events, run.run_id, () => this.loop.notify());
    for (const value of Object.values(services.writeOnlyInputsOf(run.run_id) ?? {}))
      if (typeof value === 'string') this.masker.add(value);
  }

  now(): string {
    return isoNow(this.services.clock);
  }

  nowMs(): number {
    return nowMs(this.services.clock);
  }

  /** The `${{ }}` context of a step (or of the run's outputs when doc is undefined). */
  contextFor(doc: StepDocument | undefined): ExpressionContext {
    return expressionContextOf(this.graph, this.compiled, this.run, doc);
  }

  /**
   * One state change of a step: written under its guard (once the events of its earlier changes are stored), its
   * event queued behind it. Undefined when the guard refused it.
   */
  async transition<T extends StepEventType>(
    doc: StepDocument,
    guard: StepGuard,
    patch: StepPatch,
    type: T,
    data: Omit<EventDataByType[T], 'key'>,
  ): Promise<StepDocument | undefined> {
    await this.eventQueue.stepSettled(doc.step_id);
    const updated = await this.services.store.updateStep(doc.step_id, guard, patch);
    if (!updated) {
      await this.refreshOne(doc.key);
      return undefined;
    }
    this.graph.put(updated);
    const keyed = { key: doc.key, ...data } as EventDataByType[T];
    this.eventQueue.add(type, keyed, doc.step_id);
    return updated;
  }

  /** A finished step wakes the steps waiting on it, and frees a slot for a held-back one. */
  markFinished(doc: StepDocument): void {
    this.spans.endStep(doc);
    this.loop.finished(doc.key);
    for (const key of this.graph.markFinished(doc)) this.loop.look(key);
    this.releaseHeldBack();
  }

  /** Gives as many held-back steps a look as the plan's step limit (or this runner's slots) leaves room for. */
  releaseHeldBack(): void {
    this.loop.releaseHeldBack(stepConcurrency(this.compiled.plan) ?? this.services.slots.capacity);
  }

  async addCost(amount: number): Promise<void> {
    const updated = await this.services.store.addRunCost(this.run.run_id, amount);
    if (updated) this.run = updated;
  }

  /** Examines a step again at `at` (a retry's backoff, an offer's timeout). */
  wakeAt(key: string, at: string): void {
    this.loop.lookAfter(key, Date.parse(at) - this.nowMs());
  }

  // ---- outside changes

  /** Re-reads the steps something outside this runner may change, at most once per poll interval. */
  async refreshWatched(): Promise<void> {
    const watched = this.loop.watched;
    if (watched.length === 0 || this.nowMs() - this.lastRefresh < this.services.pollMs) return;
    this.lastRefresh = this.nowMs();
    if (watched.length <= READ_ONE_BY_ONE) {
      for (const key of watched) await this.refreshOne(key);
      return;
    }
    // Many steps out of this runner's hands (a fan-out spread over workers): one read of the run's steps.
    const fresh = new Map((await this.services.store.listSteps(this.run.run_id)).map((doc) => [doc.key, doc]));
    for (const key of watched) {
      const doc = fresh.get(key);
      if (doc) await this.applyFresh(key, doc);
    }
  }

  async refreshOne(key: string): Promise<void> {
    const known = this.graph.get(key);
    if (!known) return;
    const fresh = await this.services.store.getStep(known.step_id);
    if (fresh) await this.applyFresh(key, fresh);
  }

  private async applyFresh(key: string, fresh: StepDocument): Promise<void> {
    const known = this.graph.get(key)!;
    this.graph.put(fresh);
    if (isTerminalStepStatus(fresh.status)) {
      this.loop.unwatch(key);
      if (fresh.cost && !known.cost && fresh.lease?.owner === EXTERNAL_LEASE_OWNER) await this.addCost(fresh.cost);
      this.markFinished(fresh);
    } else {
      this.loop.look(key);
    }
  }
}
