import type { EventDocument, StepDocument } from '../generated/schemas.js';
import type { EventBus } from '../events/event-bus.js';
import { EventType } from '../events/event-types.js';
import type { RunStore } from '../store/port.js';

const PAGE = 5_000;

const terminalEvent: Partial<Record<StepDocument['status'], EventDocument['type']>> = {
  succeeded: EventType.stepSucceeded,
  failed: EventType.stepFailed,
  skipped: EventType.stepSkipped,
  cancelled: EventType.stepCancelled,
};

/**
 * A runner killed between a step's write and its event leaves the event unwritten; the next runner writes it
 * (marked `recovered`), so every state change has its event, in seq order after what was already there.
 */
export async function recordMissingEvents(
  store: RunStore,
  events: EventBus,
  runId: string,
  steps: Iterable<StepDocument>,
): Promise<void> {
  // A terminal event happens once per step; a retrying event once per failed attempt.
  const recorded = new Set<string>();
  for (let after = 0; ;) {
    const batch = await store.listEvents(runId, after, PAGE);
    for (const event of batch)
      recorded.add(
        `${event.step_id ?? ''}:${event.type}${event.type === EventType.stepRetrying ? `:${String(event.data.attempt)}` : ''}`,
      );
    if (batch.length < PAGE) break;
    after = batch[batch.length - 1]!.seq;
  }
  for (const step of steps) {
    if (step.skip_reason === 'reused') continue;
    const retrying = step.status === 'pending' && step.attempt > 0;
    const type = retrying ? EventType.stepRetrying : terminalEvent[step.status];
    if (!type || recorded.has(`${step.step_id}:${type}${retrying ? `:${step.attempt}` : ''}`)) continue;
    await events.record(
      runId,
      type,
      { key: step.key, ...(step.attempt > 0 ? { attempt: step.attempt } : {}), recovered: true },
      step.step_id,
    );
  }
}
