import type { RunDocument, StepDocument, UpdateStepRequest } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { assertJsonWithin, Limits } from '../../domain/json-limits.js';
import { assertStepTransition, isTerminalRunStatus, isTerminalStepStatus } from '../../domain/status.js';
import { EventType } from '../../events/event-types.js';
import type { StepPatch } from '../../store/port.js';
import { externalLease } from '../run-loop/external-lease.js';

/** The event an outside status update records. */
export const outsideUpdateEvent = {
  running: EventType.stepStarted,
  succeeded: EventType.stepSucceeded,
  failed: EventType.stepFailed,
  skipped: EventType.stepSkipped,
  cancelled: EventType.stepCancelled,
} as const;

/**
 * Checks a status reported from outside (external worker, manual step, API, CLI) against the run and the step as
 * stored, and returns the patch it makes. Illegal transitions and values past the limits are refused.
 */
export function outsideUpdatePatch(
  run: RunDocument,
  step: StepDocument,
  update: UpdateStepRequest,
  now: string,
): StepPatch {
  if (isTerminalRunStatus(run.status)) {
    throw new MaestroError(
      'STEP_ILLEGAL_TRANSITION',
      `run ${run.run_id} already ended ${run.status}; its steps cannot change`,
      { details: { path: '$.status', run_status: run.status } },
    );
  }
  assertStepTransition(step.key, step.status, update.status);
  if (update.outputs)
    assertJsonWithin(update.outputs, { maxDepth: Limits.jsonDepth, maxBytes: Limits.outputsBytes }, '$.outputs');
  if (update.error_info)
    assertJsonWithin(update.error_info, { maxDepth: Limits.jsonDepth, maxBytes: Limits.metadataBytes }, '$.error_info');
  const { cost } = update;
  if (cost !== undefined && !(Number.isFinite(cost) && cost >= 0 && cost <= Limits.maxCost)) {
    throw new MaestroError('LIMIT_EXCEEDED', `cost must be a finite number from 0 to ${Limits.maxCost}`, {
      details: { path: '$.cost', expected: `0 to ${Limits.maxCost}` },
    });
  }
  return {
    status: update.status,
    ...(update.status === 'running'
      ? { started_at: step.started_at ?? now, lease: externalLease(step.lease?.fence ?? 0) }
      : {}),
    ...(isTerminalStepStatus(update.status) ? { ended_at: now } : {}),
    ...(update.outputs ? { outputs: update.outputs } : {}),
    ...(update.logs_ref ? { logs_ref: update.logs_ref } : {}),
    ...(update.error_info ? { error_info: update.error_info } : {}),
    ...(cost !== undefined ? { cost } : {}),
  };
}
