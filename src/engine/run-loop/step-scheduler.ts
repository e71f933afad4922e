import type { StepDocument } from '../../generated/schemas.js';
import { MaestroError, toMaestroError } from '../../domain/errors.js';
import { isTerminalStepStatus } from '../../domain/status.js';
import { EventType } from '../../events/event-types.js';
import { evaluateNode } from '../../plan/expressions.js';
import { containerEnding, foreachItemsOf } from './container-steps.js';
import type { DriverState } from './driver-state.js';
import { errorInfoOf } from './error-info.js';
import { EXTERNAL_LEASE_OWNER } from './external-lease.js';
import { beginAttempt, runStepAttempt } from '../attempts/step-attempt.js';
import { buildForeachCopies, roleOf } from './step-tree.js';
import { stepConcurrency } from '../../plan/run-concurrency.js';
import type { StepStatus } from '../../domain/status.js';
import { adoptAttemptResult, mayRunHere, offerStep, offerTimedOut, writeOffers } from '../workers/step-offers.js';

/**
 * Decides what each step that needs a look does next: wait, be skipped or failed without running, start as a
 * group or fanout, end as one, or launch an attempt on this runner. Attempts run in the background; their
 * outcomes settle in `state.loop` for the recorder.
 */
export class StepScheduler {
  constructor(private readonly state: DriverState) {}

  /** Examines every dirty step, and the steps that examining made dirty, until none is left. */
  async schedule(): Promise<void> {
    const { state } = this;
    while (state.loop.hasLooks) {
      for (const key of state.loop.takeLooks()) {
        if (state.stopping || state.lostRun) return;
        await this.examine(key);
      }
    }
    await writeOffers(state);
  }

  private async examine(key: string): Promise<void> {
    const { graph, loop } = this.state;
    const doc = graph.get(key);
    if (!doc || isTerminalStepStatus(doc.status) || loop.isRunningHere(key)) return;
    const parent = graph.parentOf(doc);
    if (parent && parent.status !== 'running') return;
    const compiled = graph.compiledOf(doc);
    const role = roleOf(compiled, doc);

    if (doc.status === 'running') {
      if (role !== 'leaf') return this.completeContainerIfDone(doc, role);
      // Another runner executed it and wrote how it ended: recorded here, as this runner's own attempts are.
      if (adoptAttemptResult(this.state, doc)) return;
      // Running but not ours: an external update is awaited, or another runner holds (or held) it.
      const lease = doc.lease;
      if (lease && lease.owner !== EXTERNAL_LEASE_OWNER && Date.parse(lease.expires_at) < this.state.nowMs())
        return this.launch(doc);
      this.state.loop.watch(key);
      return;
    }

    if (graph.waitsOnNeeds(key)) return;
    const needs = doc.needs.flatMap((needKey) => graph.get(needKey) ?? []);
    const failedNeed = needs.find(
      (need) => need.status === 'cancelled' || (need.status === 'failed' && !graph.compiledOf(need).continueOnError),
    );
    if (failedNeed) return this.skip(doc, 'upstream_failed');
    if (!compiled.condition && needs.some((need) => need.status === 'skipped'))
      return this.skip(doc, 'upstream_skipped');
    if (compiled.condition) {
      let pass: boolean;
      try {
        pass = Boolean(evaluateNode(compiled.condition, this.state.contextFor(doc)));
      } catch (error) {
        return this.failWithoutRunning(doc, toMaestroError(error, 'EXPRESSION_INVALID'));
      }
      if (!pass) return this.skip(doc, 'condition_false');
    }
    if (role === 'group') return this.startContainer(doc);
    if (role === 'fanout') return this.startFanout(doc);
    if (doc.ready_at && Date.parse(doc.ready_at) > this.state.nowMs()) return this.state.wakeAt(key, doc.ready_at);
    const unclaimed = offerTimedOut(this.state, doc);
    if (unclaimed) return this.failWithoutRunning(doc, unclaimed, ['pending']);
    return this.launch(doc);
  }

  private async skip(doc: StepDocument, reason: NonNullable<StepDocument['skip_reason']>): Promise<void> {
    const { state } = this;
    const patch = { status: 'skipped', skip_reason: reason, ended_at: state.now() } as const;
    const skipped = await state.transition(doc, { statusIn: ['pending'] }, patch, EventType.stepSkipped, { reason });
    if (!skipped) return;
    // The nested steps of a skipped group never run either.
    for (const child of state.graph.childrenOf(doc.key))
      if (child.status === 'pending')
        await this.skip(child, reason === 'condition_false' ? 'upstream_skipped' : reason);
    state.markFinished(skipped);
  }

  private async failWithoutRunning(
    doc: StepDocument,
    error: MaestroError,
    statusIn: StepStatus[] = ['pending', 'running'],
  ): Promise<void> {
    const { state } = this;
    const info = errorInfoOf(error);
    const patch = { status: 'failed', ended_at: state.now(), error_info: info } as const;
    const guard = { statusIn };
    const failed = await state.transition(doc, guard, patch, EventType.stepFailed, { error: info });
    if (!failed) return;
    for (const child of state.graph.childrenOf(doc.key))
      if (child.status === 'pending') await this.skip(child, 'upstream_failed');
    state.markFinished(failed);
  }

  private async startContainer(doc: StepDocument): Promise<void> {
    const { state } = this;
    const patch = { status: 'running', started_at: state.now() } as const;
    const data = { attempt: 0 };
    const started = await state.transition(doc, { statusIn: ['pending'] }, patch, EventType.stepStarted, data);
    if (!started) return;
    state.spans.startStep(started);
    for (const childKey of state.graph.childKeysOf(doc.key)) state.loop.look(childKey);
    state.loop.look(doc.key);
  }

  private async startFanout(doc: StepDocument): Promise<void> {
    const { state } = this;
    const found = foreachItemsOf(doc, state.graph.compiledOf(doc), state.contextFor(doc));
    if ('error' in found) return this.failWithoutRunning(doc, found.error);
    // Copies first, then the parent turns running: a resumed runner that sees it running finds its copies.
    const { store } = state.services;
    await store.insertSteps(buildForeachCopies(state.compiled, doc, found.items, state.now()));
    state.graph.load(await store.listSteps(state.run.run_id));
    await this.startContainer(doc);
  }

  private async completeContainerIfDone(doc: StepDocument, role: 'group' | 'fanout'): Promise<void> {
    const { state } = this;
    if (state.graph.waitsOnChildren(doc.key)) return;
    const ending = containerEnding(state.graph, doc, role);
    const patch = { ...ending, ended_at: state.now() };
    const guard = { statusIn: ['running'] } as const;
    let done: StepDocument | undefined;
    try {
      done = ending.error_info
        ? await state.transition(doc, guard, patch, EventType.stepFailed, { error: ending.error_info })
        : await state.transition(doc, guard, patch, EventType.stepSucceeded, {});
    } catch (error) {
      // A write the store refuses at every try fails the container (small, so it is written) instead of leaving
      // it running for every resume to refuse again; an outage (retryable) stops this runner, resumably.
      const failure = toMaestroError(error);
      if (failure.retryable || state.eventQueue.failed) throw error;
      const error_info = errorInfoOf(failure);
      const failed = { status: 'failed', ended_at: patch.ended_at, error_info } as const;
      done = await state.transition(doc, guard, failed, EventType.stepFailed, { error: error_info });
    }
    if (done) state.markFinished(done);
  }

  /** Claims a leaf step (or takes over one whose runner's lease expired) and starts its attempt. */
  private async launch(doc: StepDocument): Promise<void> {
    const { state } = this;
    if (state.mode === 'reconcile') {
      state.loop.watch(doc.key);
      return;
    }
    const { slots, store, leases } = state.services;
    const runLimit = stepConcurrency(state.compiled.plan) ?? Number.POSITIVE_INFINITY;
    if (state.loop.runningHere + state.loop.elsewhereBesides(doc.key) >= runLimit) {
      state.loop.holdBack(doc.key);
      return;
    }
    const here = mayRunHere(state, doc);
    if (!here || !slots.tryAcquire()) {
      // Offered to other runners when its labels are not ours or (sharing) our slots are full; a full runner
      // that does not share waits for a slot, as before.
      if (!here || state.services.shareSteps) offerStep(state, doc);
      if (here) state.loop.holdBack(doc.key);
      return;
    }
    let claimed: StepDocument | undefined;
    try {
      // A retry's claim comes after its retrying event is stored (see RunEventQueue).
      await state.eventQueue.stepSettled(doc.step_id);
      const request = { owner: state.runToken.owner, now: state.now(), expires_at: leases.expiry() };
      claimed = await store.claimStep(doc.step_id, request);
    } catch (error) {
      slots.release();
      throw error;
    }
    if (!claimed) {
      slots.release();
      state.loop.watch(doc.key);
      return;
    }
    const { token, controller, takeover } = beginAttempt(state.services, doc, claimed);
    state.graph.put(claimed);
    state.loop.attemptStarted(doc.key, controller);
    state.eventQueue.add(
      EventType.stepStarted,
      { key: claimed.key, attempt: claimed.attempt, ...(takeover ? { takeover: true } : {}) },
      claimed.step_id,
      false,
    );
    void runStepAttempt({
      services: state.services,
      plan: state.compiled,
      planDirectory: state.planDirectory,
      run: state.run,
      step: claimed,
      compiled: state.graph.compiledOf(claimed),
      token,
      controller,
      takeover,
      masker: state.masker,
      scope: state.contextFor(claimed),
      trace: state.spans.startAttempt(claimed),
    }).then((outcome) => {
      state.loop.attemptSettled(outcome);
    });
  }
}
