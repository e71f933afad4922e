import type { StepDocument } from '../../generated/schemas.js';
import { MaestroError, toMaestroError } from '../../domain/errors.js';
import { Limits } from '../../domain/json-limits.js';
import type { CompiledStep } from '../../plan/compile-plan.js';
import { evaluateValue, type ExpressionContext } from '../../plan/expressions.js';
import { errorInfoOf } from './error-info.js';
import { gatheredOutputsFault } from './gathered-outputs.js';
import type { StepGraph } from './step-graph.js';
import { planStepIdOf } from './step-tree.js';

/** The items a `foreach` step fans out over, or the error that fails it before anything runs. */
export function foreachItemsOf(
  doc: StepDocument,
  compiled: CompiledStep,
  context: ExpressionContext,
): { items: unknown[] } | { error: MaestroError } {
  let items: unknown;
  try {
    // A literal array and an expression are both resolved by evaluateValue (a literal array may hold expressions).
    items = evaluateValue(compiled.spec.foreach, context);
  } catch (error) {
    return { error: toMaestroError(error, 'EXPRESSION_INVALID') };
  }
  const path = `${compiled.path}.foreach`;
  if (!Array.isArray(items)) {
    const got = items === null ? 'null' : typeof items;
    return {
      error: new MaestroError('EXPRESSION_INVALID', `foreach of ${doc.key} gave ${got}, not an array`, {
        details: { path },
      }),
    };
  }
  if (items.length > Limits.foreachItems) {
    return {
      error: new MaestroError(
        'LIMIT_EXCEEDED',
        `foreach of ${doc.key} gave ${items.length} items, more than ${Limits.foreachItems}`,
        { details: { path, limit: 'foreach_items', expected: `at most ${Limits.foreachItems} items` } },
      ),
    };
  }
  return { items };
}

/** A group's or fanout's end once all its nested steps are done: failed if one of them failed or was cancelled. */
export function containerEnding(
  graph: StepGraph,
  doc: StepDocument,
  role: 'group' | 'fanout',
): Pick<StepDocument, 'status' | 'outputs' | 'cost' | 'error_info'> {
  const children = graph.childrenOf(doc.key);
  const failedChild = children.find(
    (child) => child.status === 'cancelled' || (child.status === 'failed' && !graph.compiledOf(child).continueOnError),
  );
  const outputs =
    role === 'fanout'
      ? { items: [...children].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((child) => child.outputs ?? {}) }
      : Object.fromEntries(children.map((child) => [planStepIdOf(child.key), child.outputs ?? {}]));
  const cost = children.reduce((sum, child) => sum + (child.cost ?? 0), 0);
  const tooLarge = failedChild ? undefined : gatheredOutputsFault(outputs, `outputs of ${role} ${doc.key}`);
  if (tooLarge) return { status: 'failed', ...(cost > 0 ? { cost } : {}), error_info: errorInfoOf(tooLarge) };
  return {
    status: failedChild ? 'failed' : 'succeeded',
    outputs,
    ...(cost > 0 ? { cost } : {}),
    ...(failedChild
      ? {
          error_info: {
            code: 'step_failed',
            message: `nested step ${failedChild.key} ${failedChild.status}`,
            details: { key: failedChild.key },
          },
        }
      : {}),
  };
}
