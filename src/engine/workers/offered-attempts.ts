import type { StepDocument } from '../../generated/schemas.js';
import { nowMs, sleepOn } from '../../domain/clock.js';
import type { EngineServices } from '../engine-services.js';
import { kindsOfStep } from '../trust/kind-policy.js';
import { runOfferedAttempt } from '../attempts/offered-attempt.js';
import { labelsFit } from './runner-labels.js';

/** How many open offers one look at the store reads; a runner claims the first it can take. */
const OFFERS_PER_LOOK = 50;
/** An idle runner looks for offers less often: the poll interval doubling up to this many of them. */
const IDLE_LOOK_MAX_POLLS = 4;

/**
 * A worker's second loop, beside the one that claims runs: takes attempts that other runs' drivers offer (steps
 * they have no slot for, or whose runs_on labels they lack) when this runner has a free slot, the labels and the
 * kinds, and executes them, until the signal aborts; then finishes what it has.
 */
export async function takeOfferedAttempts(
  services: EngineServices,
  options: { signal: AbortSignal; onError?: (error: unknown) => void },
): Promise<void> {
  const active = new Set<Promise<void>>();
  const start = (offer: StepDocument, claimed: StepDocument): void => {
    const running = runOfferedAttempt(services, offer, claimed).finally(() => active.delete(running));
    active.add(running);
  };
  // Looks in a row that found nothing: a store polled by many idle workers is not kept busy by them.
  let emptyLooks = 0;
  while (!options.signal.aborted) {
    if (!services.slots.tryAcquire()) {
      // Every slot is busy (with these attempts or the runs driven here): wait for one to end, or a while.
      await Promise.race([...active, sleepOn(services.clock, services.pollMs, options.signal)]);
      continue;
    }
    let taken = 0;
    try {
      taken = await claimOffers(services, start);
    } catch (error) {
      options.onError?.(error);
    }
    if (taken > 0) {
      emptyLooks = 0;
      continue;
    }
    services.slots.release();
    const idleMs = services.pollMs * Math.min(2 ** emptyLooks, IDLE_LOOK_MAX_POLLS);
    emptyLooks = Math.min(emptyLooks + 1, 8);
    await sleepOn(services.clock, idleMs, options.signal);
  }
  await Promise.allSettled(active);
}

/**
 * Claims, from one look at the oldest offers, as many as this runner can take and has slots for (the caller holds
 * one slot; each further claim takes another), starting each attempt as it is claimed. Claims decide races with
 * other runners. Returns how many it took; with none, the caller's slot is still the caller's.
 */
async function claimOffers(
  services: EngineServices,
  start: (offer: StepDocument, claimed: StepDocument) => void,
): Promise<number> {
  const now = nowMs(services.clock);
  const offers = await services.store.listOfferedSteps(OFFERS_PER_LOOK);
  // Runners that look at once start at different offers of the page, so their claims do not all collide.
  const first = Math.floor(Math.random() * offers.length);
  let taken = 0;
  for (let i = 0; i < offers.length; i += 1) {
    const offer = offers[(first + i) % offers.length]!;
    if (!mayTake(services, offer, now)) continue;
    if (taken > 0 && !services.slots.tryAcquire()) break;
    let claimed: StepDocument | undefined;
    try {
      claimed = await services.store.claimStep(offer.step_id, services.leaseRequest());
    } catch (error) {
      if (taken > 0) services.slots.release();
      throw error;
    }
    if (claimed) {
      start(offer, claimed);
      taken += 1;
    } else if (taken > 0) services.slots.release();
  }
  return taken;
}

function mayTake(services: EngineServices, offer: StepDocument, now: number): boolean {
  if (!labelsFit(offer.runs_on, services.labels)) return false;
  if (!kindsOfStep({ uses: offer.uses ?? '' }).every((kind) => services.kindPolicy.allows(kind))) return false;
  if (offer.status === 'pending') return !offer.ready_at || Date.parse(offer.ready_at) <= now;
  // A running step is offered again when its runner's lease expired without a result.
  return (
    offer.status === 'running' &&
    offer.attempt_result?.attempt !== offer.attempt &&
    offer.lease !== undefined &&
    Date.parse(offer.lease.expires_at) < now
  );
}
