import type { Logger } from 'pino';
import type { EventBus } from '../events/event-bus.js';

/** A pino logger, or Fastify's (which is one). */
export type EventLogger = Pick<Logger, 'info' | 'warn'>;

const WARNINGS = new Set(['step.failed', 'step.retrying', 'run.failed', 'budget.exceeded']);

/**
 * Logs every lifecycle event this runner stores as one JSON line: `run_id`, `step_key` and `attempt` where they
 * apply, the event type and seq, and an error's code. Never the event's outputs, inputs or messages' payloads:
 * what a step produced stays in the store (masked), not in the log.
 */
export function logRunEvents(events: EventBus, logger: EventLogger): void {
  events.on('event', (event) => {
    const data = event.data as { key?: unknown; attempt?: unknown; status?: unknown; error?: { code?: unknown } };
    const fields = {
      run_id: event.run_id,
      event: event.type,
      seq: event.seq,
      ...(typeof data.key === 'string' ? { step_key: data.key } : {}),
      ...(typeof data.attempt === 'number' ? { attempt: data.attempt } : {}),
      ...(typeof data.status === 'string' ? { status: data.status } : {}),
      ...(typeof data.error?.code === 'string' ? { error_code: data.error.code } : {}),
    };
    if (WARNINGS.has(event.type)) logger.warn(fields, event.type);
    else logger.info(fields, event.type);
  });
}
