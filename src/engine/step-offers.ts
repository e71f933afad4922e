import type { StepDocument } from '../generated/schemas.js';
import { addMs } from '../domain/clock.js';
import { MaestroError } from '../domain/errors.js';
import { outcomeOfResult } from './attempt-result.js';
import type { DriverState } from './driver-state.js';
import { labelsFit } from './runner-labels.js';

/** Whether this runner has every label the step runs on (kinds are settled when the run is claimed). */
export function mayRunHere(state: DriverState, doc: StepDocument): boolean {
  return labelsFit(state.graph.compiledOf(doc).runsOn, state.services.labels);
}

/**
 * Offers a ready step (or one whose runner's lease expired) to any runner whose labels fit: one write, `offered_at`
 * on the step, which a claim removes. Its timeout counts from the offer while no runner takes it.
 */
export async function offerStep(state: DriverState, doc: StepDocument): Promise<void> {
  let offered: StepDocument | undefined = doc;
  if (!doc.offered_at) {
    offered = await state.services.store.updateStep(
      doc.step_id,
      { statusIn: [doc.status] },
      { offered_at: state.now() },
    );
    if (!offered) return state.refreshOne(doc.key);
    state.graph.put(offered);
  }
  state.elsewhere.add(doc.key);
  state.watched.add(doc.key);
  const timeoutMs = state.graph.compiledOf(doc).timeoutMs;
  if (timeoutMs && offered.status === 'pending') state.wakeAt(doc.key, addMs(offered.offered_at!, timeoutMs));
}

/** STEP_TIMEOUT for an offered step no runner took within its timeout (it waited for labels nobody has). */
export function offerTimedOut(state: DriverState, doc: StepDocument): MaestroError | undefined {
  const timeoutMs = state.graph.compiledOf(doc).timeoutMs;
  if (!timeoutMs || !doc.offered_at || doc.status !== 'pending') return undefined;
  if (Date.parse(doc.offered_at) + timeoutMs > state.nowMs()) return undefined;
  const labels = doc.runs_on?.length ? ` with labels ${doc.runs_on.join(', ')}` : '';
  return new MaestroError(
    'STEP_TIMEOUT',
    `step ${doc.key} waited ${timeoutMs} ms (its timeout) for a runner${labels}; none took it`,
    { retryable: false, details: { timeout_ms: timeoutMs, runs_on: doc.runs_on ?? [] } },
  );
}

/**
 * Queues the result another runner wrote for the step's current attempt, to be recorded like an attempt of this
 * runner (once per attempt). False when there is none yet.
 */
export function adoptAttemptResult(state: DriverState, doc: StepDocument): boolean {
  const outcome = outcomeOfResult(doc);
  if (!outcome) return false;
  const id = `${doc.step_id}:${doc.attempt}`;
  if (state.adopted.has(id)) return true;
  state.adopted.add(id);
  state.watched.delete(doc.key);
  state.settled.push(outcome);
  state.notify();
  return true;
}
