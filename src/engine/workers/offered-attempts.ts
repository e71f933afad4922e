import type { StepDocument } from '../../generated/schemas.js';
import { nowMs, sleepOn } from '../../domain/clock.js';
import type { EngineServices } from '../engine-services.js';
import { kindsOfStep } from '../trust/kind-policy.js';
import { runOfferedAttempt } from '../attempts/offered-attempt.js';
import { labelsFit } from './runner-labels.js';

/** How many open offers one look at the store reads; a runner claims the first it can take. */
const OFFERS_PER_LOOK = 50;
/** An idle runner looks for offers less often, doubling from the poll interval up to this (or the interval). */
const IDLE_LOOK_MAX_MS = 1_000;

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
  // Looks in a row that found nothing: a store polled by many idle workers is not kept busy by them.
  let emptyLooks = 0;
  while (!options.signal.aborted) {
    if (!services.slots.tryAcquire()) {
      // Every slot is busy (with these attempts or the runs driven here): wait for one to end, or a while.
      await Promise.race([...active, sleepOn(services.clock, services.pollMs, options.signal)]);
      continue;
    }
    let claimed: { step: StepDocument; takeover: boolean } | undefined;
    try {
      claimed = await claimAnOffer(services);
    } catch (error) {
      options.onError?.(error);
    }
    if (!claimed) {
      services.slots.release();
      const idleMs = Math.min(services.pollMs * 2 ** emptyLooks, Math.max(IDLE_LOOK_MAX_MS, services.pollMs));
      emptyLooks = Math.min(emptyLooks + 1, 16);
      await sleepOn(services.clock, idleMs, options.signal);
      continue;
    }
    emptyLooks = 0;
    const running = runOfferedAttempt(services, claimed.step, claimed.takeover).finally(() => active.delete(running));
    active.add(running);
  }
  await Promise.allSettled(active);
}

/** One of the oldest offers this runner can take, claimed (the claim decides races with other runners), or undefined. */
async function claimAnOffer(services: EngineServices): Promise<{ step: StepDocument; takeover: boolean } | undefined> {
  const now = nowMs(services.clock);
  const offers = await services.store.listOfferedSteps(OFFERS_PER_LOOK);
  // Runners that look at once start at different offers of the page, so their claims do not all collide.
  const first = Math.floor(Math.random() * offers.length);
  for (let i = 0; i < offers.length; i += 1) {
    const offer = offers[(first + i) % offers.length]!;
    if (!mayTake(services, offer, now)) continue;
    const claimed = await services.store.claimStep(offer.step_id, services.leaseRequest());
    if (claimed) return { step: claimed, takeover: offer.status === 'running' };
  }
  return undefined;
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
