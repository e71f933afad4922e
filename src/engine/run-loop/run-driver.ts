import type { RunDocument } from '../../generated/schemas.js';
import { MaestroError, toMaestroError } from '../../domain/errors.js';
import { isTerminalRunStatus, isTerminalStepStatus } from '../../domain/status.js';
import { EventType } from '../../events/event-types.js';
import type { CompiledPlan } from '../../plan/compile-plan.js';
import { traceContexts } from '../../domain/trace-context.js';
import { crossedBudget, type CrossedBudget } from './budget-check.js';
import { DriverState } from './driver-state.js';
import type { EngineServices } from '../engine-services.js';
import { errorInfoOf } from './error-info.js';
import { recordSettledOutcomes } from './outcome-recorder.js';
import { recordMissingEvents } from './recovered-events.js';
import { recordRunEnd } from './run-end-event.js';
import { runEndingOf, type RunEnding } from './run-ending.js';
import { StepScheduler } from './step-scheduler.js';
import { ChildRunCosts } from './tree-cost.js';

/**
 * Drives one run while this runner holds its lease: starts ready steps, records every result in the store
 * before announcing it, and ends the run. Its loop, in order: record settled attempts, check the lease, read the
 * run (a cancel request) and its budget, schedule, end when nothing is left, wait for work.
 */
export class RunDriver {
  private readonly state: DriverState;
  private readonly scheduler: StepScheduler;
  /** What the run's child runs report while they go on: the whole tree's cost counts against the budget. */
  private readonly childCosts = new ChildRunCosts();
  private lastRunRead = Number.NEGATIVE_INFINITY;
  private auditRecorded = false;
  private holding = false;
  private handedBack = false;

  constructor(
    services: EngineServices,
    compiled: CompiledPlan,
    planDirectory: string,
    run: RunDocument,
    /** reconcile: record what outside updates imply (groups, run end) without executing any step, then let go. */
    mode: 'execute' | 'reconcile' = 'execute',
  ) {
    this.state = new DriverState(services, compiled, planDirectory, run, mode);
    this.scheduler = new StepScheduler(this.state);
  }

  async drive(): Promise<RunDocument> {
    const { state } = this;
    const resumed = state.run.status === 'running';
    const traced = state.mode === 'execute' ? state.spans.startRun(state.compiled.plan.name, resumed) : undefined;
    // The loop runs in the run span's context: store calls and hook deliveries it makes nest under it.
    return traceContexts.with(state.spans.context, () => this.driveInSpan(resumed, traced));
  }

  private async driveInSpan(resumed: boolean, traced: string | undefined): Promise<RunDocument> {
    const { state } = this;
    const { leases, store, events } = state.services;
    const runId = state.run.run_id;
    leases.hold('run', runId, state.runToken, () => {
      state.lostRun = true;
      this.abortAll(new MaestroError('LEASE_LOST', `runner ${state.runToken.owner} lost the lease of run ${runId}`));
    });
    try {
      await this.markStarted(traced);
      if (state.mode === 'execute') this.held(resumed);
      state.graph.load(await store.listSteps(runId));
      if (resumed) await recordMissingEvents(store, events, runId, state.graph.values());
      for (const key of state.graph.keys()) state.loop.look(key);
      for (;;) {
        await recordSettledOutcomes(state);
        state.eventQueue.throwIfFailed();
        if (state.lostRun) throw new MaestroError('LEASE_LOST', `another runner took over run ${runId}`);
        await this.readRunIfDue();
        const stop = state.stopping ?? this.findStopReason();
        if (stop) return await this.stopAndFinish(stop);
        await this.scheduler.schedule();
        if (this.isComplete()) return await this.finish();
        if (state.mode === 'reconcile') {
          await state.eventQueue.flush();
          await store.releaseRunLease(runId, state.runToken);
          return state.run;
        }
        await state.loop.waitForWork();
        await state.refreshWatched();
        // Held back by slots another run used: try again when there is room.
        if (!state.loop.hasLooks && state.loop.hasHeldBack) state.releaseHeldBack();
      }
    } catch (error) {
      // The store is gone past its outage limit, or the lease was lost: stop the steps still running here;
      // the run stays as stored, for `resume` (or another runner) to continue.
      const stopped = error instanceof MaestroError ? error : new MaestroError('INTERNAL', String(error));
      this.abortAll(stopped);
      state.spans.endRun('interrupted', state.run.usage.cost, stopped.message);
      throw error;
    } finally {
      await state.eventQueue.settle();
      leases.release('run', runId);
      if (this.handedBack) await store.releaseRunLease(runId, state.runToken).catch(() => false);
      state.loop.cancelTimers();
      if (this.holding) state.services.telemetry.runsHeld(-1);
    }
  }

  /** Counts this run as driven here from now on (a resumed one as taken over). */
  private held(resumed: boolean): void {
    const { telemetry } = this.state.services;
    telemetry.runStarted(this.state.compiled.plan.name, resumed);
    telemetry.runsHeld(1);
    this.holding = true;
  }

  /**
   * Stops driving without ending the run (its runner is stopping): running steps are stopped as on a lost lease,
   * to be taken over as the same attempts, and the run's lease is let go so another runner claims it at once.
   */
  handBack(): void {
    const { state } = this;
    this.handedBack = true;
    state.lostRun = true;
    const { owner } = state.runToken;
    this.abortAll(new MaestroError('LEASE_LOST', `runner ${owner} stopped: run ${state.run.run_id} handed back`));
  }

  /** True once the run is in a terminal status (its in-memory write-only inputs can go). */
  get hasEnded(): boolean {
    return isTerminalRunStatus(this.state.run.status);
  }

  /** Something changed the run document (a cancel request): read it on the next turn of the loop, now. */
  poke(): void {
    this.lastRunRead = Number.NEGATIVE_INFINITY;
    this.state.loop.notify();
  }

  private isComplete(): boolean {
    const { state } = this;
    return state.loop.quiet && state.graph.topLevelDone;
  }

  /** pending -> running, with the traceparent of the run's first span when tracing is on. */
  private async markStarted(traceparent: string | undefined): Promise<void> {
    const { state } = this;
    if (state.run.status !== 'pending') return;
    const started = await state.services.store.updateRun(
      state.run.run_id,
      { statusIn: ['pending'], lease: state.runToken },
      { status: 'running', started_at: state.now(), ...(traceparent ? { traceparent } : {}) },
    );
    if (!started) throw new MaestroError('LEASE_LOST', `run ${state.run.run_id} changed under its runner`);
    state.run = started;
    state.eventQueue.add(EventType.runStarted, { runner: state.runToken.owner });
  }

  private async readRunIfDue(): Promise<void> {
    const now = this.state.nowMs();
    if (now - this.lastRunRead < this.state.services.pollMs) return;
    this.lastRunRead = now;
    const fresh = await this.state.services.store.getRun(this.state.run.run_id);
    if (fresh) this.state.run = fresh;
    await this.childCosts.read(this.state);
  }

  /** Cancellation, or a budget crossed (audit mode only records it). */
  private findStopReason(): MaestroError | undefined {
    const { run, services } = this.state;
    if (run.cancel_requested_at) return new MaestroError('CANCELLED', `run ${run.run_id} was cancelled`);
    const crossed = crossedBudget(run, this.state.nowMs(), this.childCosts.pending(this.state));
    if (!crossed) return undefined;
    if (run.budget.mode === 'audit') {
      if (!this.auditRecorded) {
        this.auditRecorded = true;
        services.telemetry.budgetExceeded(crossed.kind, 'audit');
        this.state.eventQueue.add(EventType.budgetExceeded, { ...crossed, mode: 'audit' });
      }
      return undefined;
    }
    const { kind, value, limit } = crossed;
    return new MaestroError('BUDGET_EXCEEDED', `run crossed its ${kind} budget (${value} > ${limit})`, {
      details: { ...crossed },
    });
  }

  private abortAll(reason: MaestroError): void {
    this.state.loop.abortAll(reason);
  }

  /** Stops what runs (their outcomes are still recorded), cancels what has not ended, then ends the run. */
  private async stopAndFinish(reason: MaestroError): Promise<RunDocument> {
    const { state } = this;
    if (!state.stopping) {
      state.stopping = reason;
      if (reason.code === 'BUDGET_EXCEEDED') {
        state.services.telemetry.budgetExceeded(String(reason.details.kind), 'enforce');
        state.eventQueue.add(EventType.budgetExceeded, {
          ...(reason.details as unknown as CrossedBudget),
          mode: 'enforce',
        });
      }
      this.abortAll(reason);
    }
    while (!state.loop.quiet) {
      await recordSettledOutcomes(state);
      // Nothing starts any more: steps a finished one woke must not end the wait at once (a busy loop that, on a
      // store answering without I/O, starved the timers the steps still running wait on).
      state.loop.dropLooks();
      if (state.loop.runningHere > 0) await state.loop.waitForWork();
    }
    const skipReason = reason.code === 'BUDGET_EXCEEDED' ? 'budget_exceeded' : 'cancelled';
    for (const doc of [...state.graph.values()]) {
      if (isTerminalStepStatus(doc.status)) continue;
      await state.transition(
        doc,
        { statusIn: [doc.status] },
        { status: 'cancelled', skip_reason: skipReason, ended_at: state.now(), error_info: errorInfoOf(reason) },
        EventType.stepCancelled,
        { reason: skipReason },
      );
    }
    // Child runs that no step of this runner was waiting on (their runner is elsewhere, or none) stop too.
    await state.services.cancelChildRuns(state.run.run_id);
    return this.finish(reason);
  }

  private async finish(stop?: MaestroError): Promise<RunDocument> {
    const { state } = this;
    const { run } = state;
    let ending = runEndingOf(state.graph, state.compiled, stop, () => state.contextFor(undefined));
    // A run that ended has every event of its steps: nothing resumes it to write a missing one.
    await state.eventQueue.flush();
    const endedAt = state.now();
    const endRun = (end: RunEnding) =>
      state.services.store.updateRun(
        run.run_id,
        { statusIn: ['running', 'pending'], lease: state.runToken },
        {
          status: end.status,
          ended_at: endedAt,
          duration_ms: Math.max(0, Date.parse(endedAt) - Date.parse(run.started_at ?? run.created_at)),
          ...(end.outputs ? { outputs: end.outputs } : {}),
          ...(end.errorInfo ? { error_info: end.errorInfo } : {}),
        },
      );
    let ended: RunDocument | undefined;
    try {
      ended = await endRun(ending);
    } catch (error) {
      // An end the store refuses at every try (outputs it cannot hold) ends the run failed, without them, instead
      // of leaving it running; an outage (retryable) stops this runner, resumably.
      const failure = toMaestroError(error);
      if (failure.retryable) throw error;
      ending = { status: 'failed', errorInfo: errorInfoOf(failure) };
      ended = await endRun(ending);
    }
    if (!ended) throw new MaestroError('LEASE_LOST', `run ${run.run_id} could not be ended: another runner holds it`);
    state.run = ended;
    const seconds = Math.max(0, Date.parse(endedAt) - Date.parse(run.started_at ?? run.created_at)) / 1000;
    state.services.telemetry.runEnded(state.compiled.plan.name, ending.status, seconds);
    state.spans.endRun(ending.status, ended.usage.cost, ending.errorInfo?.message);
    // Killed before this is stored, the run is ended without its end event: whoever resumes it stores it.
    await recordRunEnd(state.services.events, ended);
    return ended;
  }
}
