import type { StepDocument } from '../../generated/schemas.js';
import { ErrorCode } from '../../domain/error-codes.js';
import { MaestroError } from '../../domain/errors.js';
import type { RunStore } from '../../store/port.js';
import { errorInfoOf } from '../run-loop/error-info.js';
import type { AttemptOutcome } from './step-attempt.js';

type AttemptResult = NonNullable<StepDocument['attempt_result']>;

/**
 * How an attempt that ran on a runner other than its run's driver ended, written on the step under that attempt's
 * lease: a runner that lost the lease (taken over, or the run stopped the step) writes nothing. The driver records
 * it as it records its own attempts' outcomes (status, event, retry), so a step ends the same wherever it ran.
 */
export async function writeAttemptResult(
  store: RunStore,
  step: StepDocument,
  outcome: AttemptOutcome,
): Promise<boolean> {
  const result: AttemptResult = {
    attempt: step.attempt,
    outcome: outcome.kind,
    runner: outcome.token.owner,
    logs_ref: outcome.logsRef,
    ...(outcome.cost > 0 ? { cost: outcome.cost } : {}),
    ...(outcome.kind === 'succeeded' ? { outputs: outcome.outputs } : {}),
    ...(outcome.kind === 'succeeded' && outcome.childRunId ? { child_run_id: outcome.childRunId } : {}),
    ...(outcome.kind === 'failed'
      ? { error_info: errorInfoOf(outcome.error), retryable: outcome.error.retryable }
      : {}),
  };
  const written = await store.updateStep(
    step.step_id,
    { lease: outcome.token, statusIn: ['running'] },
    { attempt_result: result },
  );
  return written !== undefined;
}

/** The outcome a stored attempt result stands for, when it is the result of the step's current attempt. */
export function outcomeOfResult(step: StepDocument): AttemptOutcome | undefined {
  const result = step.attempt_result;
  if (!result || result.attempt !== step.attempt || step.status !== 'running' || !step.lease) return undefined;
  const token = { owner: step.lease.owner, fence: step.lease.fence };
  const common = { key: step.key, token, cost: result.cost ?? 0, logsRef: result.logs_ref };
  if (result.outcome === 'succeeded')
    return {
      kind: 'succeeded',
      ...common,
      outputs: result.outputs ?? {},
      ...(result.child_run_id ? { childRunId: result.child_run_id } : {}),
    };
  if (result.outcome === 'await_external') return { kind: 'await_external', ...common };
  const info = result.error_info ?? { code: 'step_failed', message: `step ${step.key} failed` };
  const code = info.code.toUpperCase();
  const error = new MaestroError(code in ErrorCode ? (code as ErrorCode) : 'STEP_FAILED', info.message, {
    retryable: result.retryable ?? false,
    details: info.details ?? {},
  });
  return { kind: 'failed', ...common, error };
}
