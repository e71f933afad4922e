import type { StepDocument } from '../../generated/schemas.js';
import { newId } from '../../domain/ids.js';
import type { CompiledPlan, CompiledStep } from '../../plan/compile-plan.js';

/**
 * Step keys are paths in the plan: `build`, `group.child`, `each[2]`, `each[2].child`. Ids are unique in a
 * plan, so the last segment without its index names the plan step a document was made from.
 */
export function planStepIdOf(key: string): string {
  const last = key.slice(key.lastIndexOf('.') + 1);
  return last.replace(/\[\d+\]$/, '');
}

export function parentKeyOf(key: string): string | undefined {
  const dot = key.lastIndexOf('.');
  if (dot >= 0) return key.slice(0, dot);
  return undefined;
}

/** What a step document stands for: one unit of work, a group of nested steps, or the parent of foreach copies. */
export type StepRole = 'leaf' | 'group' | 'fanout';

export function roleOf(compiled: CompiledStep, doc: Pick<StepDocument, 'index'>): StepRole {
  const isCopy = doc.index !== undefined;
  if (compiled.spec.foreach !== undefined && !isCopy) return 'fanout';
  return compiled.isGroup ? 'group' : 'leaf';
}

function makeStepDocument(
  compiled: CompiledStep,
  runId: string,
  key: string,
  scope: string,
  now: string,
  parent?: StepDocument,
  extra: Partial<StepDocument> = {},
): StepDocument {
  return {
    step_id: newId(),
    run_id: runId,
    key,
    name: compiled.spec.name ?? compiled.id,
    ...(compiled.spec.uses !== undefined && (compiled.spec.foreach === undefined || extra.index !== undefined)
      ? { uses: compiled.spec.uses }
      : {}),
    status: 'pending',
    attempt: 0,
    max_attempts: compiled.retry.max_attempts,
    needs: compiled.needs.map((need) => `${scope}${need}`),
    created_at: now,
    // Shown beside a step that waits for a runner with these labels; the driver reads them from the plan.
    ...(compiled.runsOn.length > 0 && compiled.spec.uses !== undefined ? { runs_on: compiled.runsOn } : {}),
    ...(parent ? { parent_step_id: parent.step_id } : {}),
    ...extra,
  };
}

/** The documents of a level of the plan and, for groups (not foreach parents), of their children, recursively. */
function buildLevel(
  plan: CompiledPlan,
  ids: readonly string[],
  runId: string,
  now: string,
  parent?: StepDocument,
): StepDocument[] {
  const scope = parent ? `${parent.key}.` : '';
  return ids.flatMap((id) => {
    const compiled = plan.steps.get(id)!;
    const doc = makeStepDocument(compiled, runId, `${scope}${id}`, scope, now, parent);
    return roleOf(compiled, doc) === 'group' ? [doc, ...buildLevel(plan, compiled.childIds, runId, now, doc)] : [doc];
  });
}

/** Every step a new run starts with: top-level steps and the nested steps of groups. Foreach copies come later. */
export function buildInitialSteps(plan: CompiledPlan, runId: string, now: string): StepDocument[] {
  return buildLevel(plan, plan.topLevelIds, runId, now);
}

/** One copy per foreach item (with its nested steps when the foreach step is a group). */
export function buildForeachCopies(
  plan: CompiledPlan,
  fanout: StepDocument,
  items: readonly unknown[],
  now: string,
): StepDocument[] {
  const compiled = plan.steps.get(planStepIdOf(fanout.key))!;
  const scope = fanout.key.includes('.') ? `${parentKeyOf(fanout.key)}.` : '';
  return items.flatMap((item, index) => {
    // Copies do not wait on the fanout's own needs: the fanout starts only once those are met.
    const copy = makeStepDocument(compiled, fanout.run_id, `${fanout.key}[${index}]`, scope, now, fanout, {
      index,
      item: item as never,
      needs: [],
    });
    return compiled.isGroup ? [copy, ...buildLevel(plan, compiled.childIds, fanout.run_id, now, copy)] : [copy];
  });
}
