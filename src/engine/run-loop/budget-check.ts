import type { RunDocument } from '../../generated/schemas.js';

export interface CrossedBudget {
  kind: 'max_cost' | 'max_duration_ms';
  limit: number;
  value: number;
}

/**
 * The budget a run has crossed at `nowMs`, if any: cost first (its own, plus `childCost` reported by its unfinished
 * child runs), then wall time since it started.
 */
export function crossedBudget(run: RunDocument, nowMs: number, childCost = 0): CrossedBudget | undefined {
  const { budget } = run;
  const cost = run.usage.cost + childCost;
  if (budget.max_cost !== undefined && cost > budget.max_cost)
    return { kind: 'max_cost', limit: budget.max_cost, value: cost };
  if (budget.max_duration_ms === undefined || !run.started_at) return undefined;
  const elapsed = nowMs - Date.parse(run.started_at);
  return elapsed > budget.max_duration_ms
    ? { kind: 'max_duration_ms', limit: budget.max_duration_ms, value: elapsed }
    : undefined;
}
