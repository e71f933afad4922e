import type { Plan, RunConcurrency } from '../generated/schemas.js';

/** How many steps of one run may run at once: the plan's `concurrency` number, or its object's `steps`. */
export function stepConcurrency(plan: Plan): number | undefined {
  return typeof plan.concurrency === 'number' ? plan.concurrency : plan.concurrency?.steps;
}

/** The plan's concurrency group, when its `concurrency` is an object. */
export function runConcurrencyOf(plan: Plan): RunConcurrency | undefined {
  return typeof plan.concurrency === 'object' ? plan.concurrency : undefined;
}
