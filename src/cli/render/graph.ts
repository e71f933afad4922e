import type { CompiledPlan } from '../../plan/compile-plan.js';

function nodeId(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, '_');
}

function label(plan: CompiledPlan, id: string): string {
  const step = plan.steps.get(id)!;
  const kind = step.isGroup ? 'group' : (step.spec.uses ?? '');
  return `${id}${kind ? ` (${kind})` : ''}${step.spec.foreach !== undefined ? ' foreach' : ''}`;
}

/** The plan's DAG as a Mermaid flowchart; groups are subgraphs. */
export function planToMermaid(plan: CompiledPlan): string {
  const lines = ['flowchart TD'];
  const emit = (ids: readonly string[], indent: string): void => {
    for (const id of ids) {
      const step = plan.steps.get(id)!;
      if (step.isGroup) {
        lines.push(`${indent}subgraph ${nodeId(id)} ["${label(plan, id)}"]`);
        emit(step.childIds, `${indent}  `);
        lines.push(`${indent}end`);
      } else {
        lines.push(`${indent}${nodeId(id)}["${label(plan, id)}"]`);
      }
    }
    for (const id of ids)
      for (const need of plan.steps.get(id)!.needs) lines.push(`${indent}${nodeId(need)} --> ${nodeId(id)}`);
  };
  emit(plan.topLevelIds, '  ');
  return `${lines.join('\n')}\n`;
}

/** The plan's DAG in Graphviz DOT; groups are clusters. */
export function planToDot(plan: CompiledPlan): string {
  const lines = [`digraph "${plan.plan.name}" {`, '  rankdir=TB;', '  node [shape=box];'];
  const emit = (ids: readonly string[], indent: string): void => {
    for (const id of ids) {
      const step = plan.steps.get(id)!;
      if (step.isGroup) {
        lines.push(`${indent}subgraph "cluster_${nodeId(id)}" {`, `${indent}  label="${label(plan, id)}";`);
        emit(step.childIds, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}"${id}" [label="${label(plan, id)}"];`);
      }
    }
    for (const id of ids) for (const need of plan.steps.get(id)!.needs) lines.push(`${indent}"${need}" -> "${id}";`);
  };
  emit(plan.topLevelIds, '  ');
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
