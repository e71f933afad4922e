import type { StepDocument } from '../../generated/schemas.js';
import { addMs } from '../../domain/clock.js';
import { MaestroError, toMaestroError } from '../../domain/errors.js';
import type { StepStatus } from '../../domain/status.js';
import { EventType } from '../../events/event-types.js';
import type { DriverState } from './driver-state.js';
import type { AttemptOutcomeLabel } from '../../domain/telemetry.js';
import { errorInfoOf } from './error-info.js';
import { externalLease } from './external-lease.js';
import type { AttemptOutcome } from '../attempts/step-attempt.js';

/** Writes the outcomes of finished attempts, in the order they settled. */
export async function recordSettledOutcomes(state: DriverState): Promise<void> {
  for (let outcome = state.loop.nextOutcome(); outcome; outcome = state.loop.nextOutcome())
    await recordOutcome(state, outcome);
}

/**
 * The one place an attempt's result is written: under its lease, so a stale runner's result is refused. A
 * failure is retried after its backoff while attempts are left, unless the run is stopping.
 */
async function recordOutcome(state: DriverState, outcome: AttemptOutcome): Promise<void> {
  const step = state.graph.get(outcome.key)!;
  const counted = (label: AttemptOutcomeLabel): void => {
    const seconds = (state.nowMs() - Date.parse(step.started_at ?? state.now())) / 1000;
    state.services.telemetry.attemptEnded(step.uses ?? 'none', label, seconds);
    state.spans.endAttempt(
      step.key,
      label,
      outcome.cost,
      outcome.kind === 'failed' ? outcome.error.message : undefined,
    );
  };
  const guard = { lease: outcome.token, statusIn: ['running'] as const };
  const written = { logs_ref: outcome.logsRef, ...(outcome.cost > 0 ? { cost: outcome.cost } : {}) };
  if (outcome.cost > 0) await state.addCost(outcome.cost);

  if (outcome.kind === 'await_external') {
    const patch = { logs_ref: outcome.logsRef, lease: externalLease(outcome.token.fence) };
    // A waiting step is taken over by no runner, so its attempt's start is stored before it waits.
    await state.eventQueue.flush();
    const waiting = await state.services.store.updateStep(step.step_id, guard, patch);
    if (waiting) state.graph.put(waiting);
    state.loop.watch(step.key);
    counted('waiting');
    return;
  }

  if (outcome.kind === 'succeeded') {
    const patch = {
      status: 'succeeded',
      outputs: outcome.outputs,
      ended_at: state.now(),
      ...written,
      ...(outcome.childRunId ? { child_run_id: outcome.childRunId } : {}),
    } as const;
    const data = { attempt: step.attempt, outputs: outcome.outputs };
    let done: StepDocument | undefined;
    try {
      done = await state.transition(step, guard, patch, EventType.stepSucceeded, data);
    } catch (error) {
      // A write that can never succeed fails the step (small, so it is written) instead of leaving it running
      // for every resume to run again; an outage (retryable) stops this runner, resumably.
      const failure = toMaestroError(error);
      if (failure.retryable || state.eventQueue.failed) throw error;
      const final = new MaestroError(failure.code, failure.message, { retryable: false, details: failure.details });
      return recordOutcome(state, { ...outcome, kind: 'failed', error: final, cost: 0 });
    }
    if (done) {
      counted('succeeded');
      state.markFinished(done);
    }
    return;
  }

  const { error } = outcome;
  const stopped =
    state.stopping ?? (error.code === 'CANCELLED' || error.code === 'BUDGET_EXCEEDED' ? error : undefined);
  if (error.code === 'LEASE_LOST') {
    counted('lease_lost');
    return state.refreshOne(step.key);
  }
  if (!stopped && error.retryable && step.attempt < step.max_attempts) {
    const retry = state.graph.compiledOf(step).retry;
    const delay = Math.min(
      retry.backoff_ms * retry.backoff_factor ** (step.attempt - 1),
      retry.max_backoff_ms ?? Number.POSITIVE_INFINITY,
    );
    const readyAt = addMs(state.now(), delay);
    const patch = {
      status: 'pending',
      ready_at: readyAt,
      error_info: errorInfoOf(error, step.attempt),
      logs_ref: outcome.logsRef,
    } as const;
    const data = { attempt: step.attempt, next_attempt_at: readyAt, error: errorInfoOf(error) };
    const retrying = await state.transition(step, guard, patch, EventType.stepRetrying, data);
    if (retrying) {
      counted('retried');
      state.wakeAt(step.key, readyAt);
    }
    return;
  }
  const status: StepStatus = stopped ? 'cancelled' : 'failed';
  const patch = { status, ended_at: state.now(), error_info: errorInfoOf(error, step.attempt), ...written };
  const type = status === 'cancelled' ? EventType.stepCancelled : EventType.stepFailed;
  const data = { attempt: step.attempt, error: errorInfoOf(error) };
  const ended = await state.transition(step, guard, patch, type, data);
  if (ended) {
    counted(status);
    state.markFinished(ended);
  }
}
