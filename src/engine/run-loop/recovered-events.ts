import type { EventDocument, StepDocument } from '../../generated/schemas.js';
import type { EventBus } from '../../events/event-bus.js';
import { EventType } from '../../events/event-types.js';
import type { RunStore } from '../../store/port.js';

const PAGE = 5_000;

const terminalEvent: Partial<Record<StepDocument['status'], EventDocument['type']>> = {
  succeeded: EventType.stepSucceeded,
  failed: EventType.stepFailed,
  skipped: EventType.stepSkipped,
  cancelled: EventType.stepCancelled,
};

/**
 * A runner killed between a step's write and its event leaves the event unwritten; the next runner writes it
 * (marked `recovered`), so every state change has its event, in seq order after what was already there. That is
 * the step's last change and, for an attempt that ended, its start (a running attempt's start is written by the
 * runner that takes it over).
 */
export async function recordMissingEvents(
  store: RunStore,
  events: EventBus,
  runId: string,
  steps: Iterable<StepDocument>,
): Promise<void> {
  // A terminal event happens once per step; a start and a retrying event once per attempt.
  const perAttempt = new Set<string>([EventType.stepRetrying, EventType.stepStarted]);
  const keyOf = (stepId: string, type: string, attempt: unknown) =>
    `${stepId}:${type}${perAttempt.has(type) ? `:${String(attempt)}` : ''}`;
  const recorded = new Set<string>();
  for (let after = 0; ;) {
    const batch = await store.listEvents(runId, after, PAGE);
    for (const event of batch) recorded.add(keyOf(event.step_id ?? '', event.type, event.data.attempt));
    if (batch.length < PAGE) break;
    after = batch[batch.length - 1]!.seq;
  }
  for (const step of steps) {
    if (step.skip_reason === 'reused') continue;
    const retrying = step.status === 'pending' && step.attempt > 0;
    const type = retrying ? EventType.stepRetrying : terminalEvent[step.status];
    if (!type || recorded.has(keyOf(step.step_id, type, step.attempt))) continue;
    const attempt = step.attempt > 0 ? { attempt: step.attempt } : {};
    // An attempt's end may have been written before its start (see RunEventQueue); containers have no attempts.
    if (step.attempt > 0 && !recorded.has(keyOf(step.step_id, EventType.stepStarted, step.attempt)))
      await events.record(
        runId,
        EventType.stepStarted,
        { key: step.key, attempt: step.attempt, recovered: true },
        step.step_id,
      );
    await events.record(runId, type, { key: step.key, ...attempt, recovered: true }, step.step_id);
  }
}
