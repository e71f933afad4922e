import type { RunDocument } from '../../generated/schemas.js';
import { derivedId } from '../../domain/ids.js';
import type { EventBus } from '../../events/event-bus.js';
import { EventType } from '../../events/event-types.js';
import type { RunStore } from '../../store/port.js';

const END_TYPES = {
  succeeded: EventType.runSucceeded,
  failed: EventType.runFailed,
  cancelled: EventType.runCancelled,
} as const;
const END_TYPE_SET = new Set<EventType>(Object.values(END_TYPES));

function hasEnded(status: string): status is keyof typeof END_TYPES {
  return Object.hasOwn(END_TYPES, status);
}

/** The id of a run's end event: the same in every runner that writes it, so the store keeps it once. */
function endEventIdOf(runId: string): string {
  return derivedId(runId, 'run-end');
}

/** Stores and announces the end event of a run that has ended (its status, error and usage as stored). */
export async function recordRunEnd(events: EventBus, run: RunDocument): Promise<void> {
  const { status } = run;
  if (!hasEnded(status)) throw new Error(`run ${run.run_id} has not ended (${status})`);
  await events.record(
    run.run_id,
    END_TYPES[status],
    { status, ...(run.error_info ? { error_info: run.error_info } : {}), usage: run.usage },
    undefined,
    endEventIdOf(run.run_id),
  );
}

/**
 * A runner killed after ending a run but before storing its end event left the run without one: it is stored now.
 * Two runners doing this at once store it once (the same id).
 */
export async function recordMissingRunEnd(store: RunStore, events: EventBus, run: RunDocument): Promise<void> {
  // Usually the end event is the run's last; artifacts attached to an ended run come after it, hence the look back.
  const last = await store.lastEvent(run.run_id);
  if (last && END_TYPE_SET.has(last.type)) return;
  if (!(await hasEndEvent(store, run.run_id))) await recordRunEnd(events, run);
}

async function hasEndEvent(store: RunStore, runId: string): Promise<boolean> {
  const PAGE = 500;
  for (let after = 0; ;) {
    const page = await store.listEvents(runId, after, PAGE);
    if (page.some((event) => END_TYPE_SET.has(event.type))) return true;
    if (page.length < PAGE) return false;
    after = page.at(-1)!.seq;
  }
}
