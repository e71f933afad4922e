import type { ErrorInfo, RunDocument } from '../../generated/schemas.js';
import { toMaestroError, type MaestroError } from '../../domain/errors.js';
import type { CompiledPlan } from '../../plan/compile-plan.js';
import { evaluateValue, type ExpressionContext } from '../../plan/expressions.js';
import { errorInfoOf } from './error-info.js';
import { gatheredOutputsFault } from './gathered-outputs.js';
import type { StepGraph } from './step-graph.js';

export interface RunEnding {
  status: Extract<RunDocument['status'], 'succeeded' | 'failed' | 'cancelled'>;
  outputs?: Record<string, unknown>;
  errorInfo?: ErrorInfo;
}

/**
 * How a run ends once nothing runs: cancelled or failed by a stop, failed by a top-level step that failed (and
 * may not), else succeeded with its `outputs` evaluated (an output expression that fails fails the run).
 */
export function runEndingOf(
  graph: StepGraph,
  plan: CompiledPlan,
  stop: MaestroError | undefined,
  outputsContext: () => ExpressionContext,
): RunEnding {
  if (stop) return { status: stop.code === 'CANCELLED' ? 'cancelled' : 'failed', errorInfo: errorInfoOf(stop) };
  const failedStep = graph
    .childrenOf('')
    .find((doc) => doc.status === 'failed' && !graph.compiledOf(doc).continueOnError);
  if (failedStep) {
    const reason = failedStep.error_info ? `: ${failedStep.error_info.message}` : '';
    return {
      status: 'failed',
      errorInfo: {
        code: 'step_failed',
        message: `step ${failedStep.key} failed${reason}`,
        details: { step_id: failedStep.step_id, key: failedStep.key },
      },
    };
  }
  if (!plan.plan.outputs) return { status: 'succeeded' };
  let outputs: Record<string, unknown>;
  try {
    outputs = evaluateValue(plan.plan.outputs, outputsContext()) as Record<string, unknown>;
  } catch (error) {
    return { status: 'failed', errorInfo: errorInfoOf(toMaestroError(error, 'EXPRESSION_INVALID')) };
  }
  const tooLarge = gatheredOutputsFault(outputs, 'the outputs of the run');
  return tooLarge ? { status: 'failed', errorInfo: errorInfoOf(tooLarge) } : { status: 'succeeded', outputs };
}
