import type { StepDocument } from '../../generated/schemas.js';
import { addMs } from '../../domain/clock.js';
import { MaestroError } from '../../domain/errors.js';
import { outcomeOfResult } from '../attempts/attempt-result.js';
import type { DriverState } from '../run-loop/driver-state.js';
import { labelsFit } from './runner-labels.js';

/** Whether this runner has every label the step runs on (kinds are settled when the run is claimed). */
export function mayRunHere(state: DriverState, doc: StepDocument): boolean {
  return labelsFit(state.graph.compiledOf(doc).runsOn, state.services.labels);
}

/** Offer writes in flight at once: a fan-out's offers reach other runners together, not one round trip apart. */
const OFFER_WRITES_AT_ONCE = 16;

/**
 * Offers a ready step (or one whose runner's lease expired) to any runner whose labels fit: `offered_at` on the step,
 * which a claim removes, written with the other offers of this scheduling pass (writeOffers).
 */
export function offerStep(state: DriverState, doc: StepDocument): void {
  state.loop.offered(doc.key);
  if (doc.offered_at) wakeAtTimeout(state, doc);
  else state.offersToWrite.set(doc.key, doc);
}

/** Writes the offers a scheduling pass made, several at a time. A step's timeout counts from its offer. */
export async function writeOffers(state: DriverState): Promise<void> {
  const docs = [...state.offersToWrite.values()];
  state.offersToWrite.clear();
  for (let i = 0; i < docs.length; i += OFFER_WRITES_AT_ONCE) {
    await Promise.all(
      docs.slice(i, i + OFFER_WRITES_AT_ONCE).map(async (doc) => {
        const guard = { statusIn: [doc.status] };
        const offered = await state.services.store.updateStep(doc.step_id, guard, { offered_at: state.now() });
        // Claimed here or ended meanwhile: the step as stored says what it is now.
        if (!offered) return state.refreshOne(doc.key);
        if (state.graph.get(doc.key)?.status === doc.status) state.graph.put(offered);
        wakeAtTimeout(state, offered);
      }),
    );
  }
}

function wakeAtTimeout(state: DriverState, doc: StepDocument): void {
  const timeoutMs = state.graph.compiledOf(doc).timeoutMs;
  if (timeoutMs && doc.status === 'pending' && doc.offered_at) state.wakeAt(doc.key, addMs(doc.offered_at, timeoutMs));
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
  state.loop.adoptResult(doc.step_id, doc.attempt, outcome);
  return true;
}
