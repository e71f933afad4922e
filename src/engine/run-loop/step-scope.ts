import type { RunDocument, StepDocument } from '../../generated/schemas.js';
import { RUN_MEMBERS } from '../../plan/check-references.js';
import type { CompiledPlan, CompiledStep } from '../../plan/compile-plan.js';
import {
  forEachString,
  hasExpression,
  parseTemplate,
  referencedStepIds,
  type ExpressionContext,
} from '../../plan/expressions.js';
import type { StepGraph } from './step-graph.js';
import type { UpstreamStep } from '../executors/step-context.js';

const readsCache = new WeakMap<CompiledStep, string[]>();

/** The step ids a step's expressions read, so only those are put in its context. */
function readsOf(step: CompiledStep): string[] {
  let reads = readsCache.get(step);
  if (!reads) {
    const found = new Set<string>();
    const collect = (value: unknown): void =>
      forEachString(value, '$', (text) => {
        if (hasExpression(text))
          for (const node of parseTemplate(text)) for (const id of referencedStepIds(node)) found.add(id);
      });
    collect(step.spec.with ?? {});
    if (typeof step.spec.foreach === 'string') collect(step.spec.foreach);
    if (step.condition) for (const id of referencedStepIds(step.condition)) found.add(id);
    reads = [...found];
    readsCache.set(step, reads);
  }
  return reads;
}

/** The `${{ }}` context of a step, or of the run's outputs when `doc` is undefined. */
export function expressionContextOf(
  graph: StepGraph,
  compiled: CompiledPlan,
  run: RunDocument,
  doc: StepDocument | undefined,
): ExpressionContext {
  const steps: Record<string, UpstreamStep> = {};
  // A step sees what its expressions read and what it needs (handlers read `upstream` in code).
  const ids = doc
    ? [...new Set([...readsOf(graph.compiledOf(doc)), ...graph.compiledOf(doc).needs])]
    : compiled.topLevelIds;
  for (const id of ids) {
    const found = doc ? graph.lookupVisible(id, doc) : graph.get(id);
    if (found) steps[id] = { status: found.status, outputs: found.outputs ?? {} };
  }
  let item: unknown;
  let index: number | undefined;
  for (let cursor = doc; cursor; cursor = graph.parentOf(cursor)) {
    if (cursor.index !== undefined) {
      item = cursor.item;
      index = cursor.index;
      break;
    }
  }
  return {
    inputs: run.inputs,
    steps,
    // The fields the compiler lets `run.<field>` read: one list, so the check and the value cannot drift apart.
    run: Object.fromEntries(RUN_MEMBERS.map((field) => [field, run[field]])),
    ...(index !== undefined ? { item, index } : {}),
  };
}
