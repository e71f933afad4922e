import type { EventDocument } from '../generated/schemas.js';

/** The lifecycle events, as stored in `events.type`. */
export const EventType = {
  runCreated: 'run.created',
  runStarted: 'run.started',
  stepStarted: 'step.started',
  stepRetrying: 'step.retrying',
  stepSucceeded: 'step.succeeded',
  stepFailed: 'step.failed',
  stepSkipped: 'step.skipped',
  stepCancelled: 'step.cancelled',
  artifactAttached: 'artifact.attached',
  budgetExceeded: 'budget.exceeded',
  runSucceeded: 'run.succeeded',
  runFailed: 'run.failed',
  runCancelled: 'run.cancelled',
} as const satisfies Record<string, EventDocument['type']>;
export type EventType = EventDocument['type'];
