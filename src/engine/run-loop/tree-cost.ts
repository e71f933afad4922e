import { isTerminalRunStatus, isTerminalStepStatus } from '../../domain/status.js';
import type { RunDocument } from '../../generated/schemas.js';
import type { RunStore } from '../../store/port.js';
import type { DriverState } from './driver-state.js';

/** Deeper than any run tree a plan makes: a bound on the walk, not a limit of the engine. */
const MAX_DEPTH = 32;

/**
 * The cost the unfinished child runs of a run's `plan` steps (and theirs) have reported so far, as stored, so a
 * child driven by any runner counts. A step's child cost joins the run's own usage when the step's outcome is
 * recorded; from then on it is no longer counted here, so nothing counts twice.
 */
export class ChildRunCosts {
  /** Cost by parent step id, as last read. */
  private byStep = new Map<string, number>();

  /** Reads the costs again, when the run has a cost budget and a `plan` step is running (else there are none). */
  async read(state: DriverState): Promise<void> {
    const watching =
      state.run.budget.max_cost !== undefined &&
      state.loop.keysRunningHere.some((key) => state.graph.get(key)?.uses === 'plan');
    this.byStep = watching
      ? await unfinishedCostByStep(state.services.store, state.run.run_id)
      : new Map<string, number>();
  }

  /** The cost of the child runs of the steps that have not ended. */
  pending(state: DriverState): number {
    if (this.byStep.size === 0) return 0;
    let total = 0;
    for (const doc of state.graph.values())
      if (!isTerminalStepStatus(doc.status)) total += this.byStep.get(doc.step_id) ?? 0;
    return total;
  }
}

/** The cost of a run's unfinished child runs, each with its own unfinished children's, by the parent step. */
async function unfinishedCostByStep(store: RunStore, runId: string): Promise<Map<string, number>> {
  const byStep = new Map<string, number>();
  for (const child of await unfinishedChildren(store, runId)) {
    const cost = child.usage.cost + (await unfinishedTreeCost(store, child.run_id, 1));
    const stepId = child.parent_step_id ?? '';
    byStep.set(stepId, (byStep.get(stepId) ?? 0) + cost);
  }
  return byStep;
}

async function unfinishedTreeCost(store: RunStore, runId: string, depth: number): Promise<number> {
  if (depth >= MAX_DEPTH) return 0;
  let total = 0;
  for (const child of await unfinishedChildren(store, runId))
    total += child.usage.cost + (await unfinishedTreeCost(store, child.run_id, depth + 1));
  return total;
}

async function unfinishedChildren(store: RunStore, runId: string): Promise<RunDocument[]> {
  const found: RunDocument[] = [];
  for (let cursor: string | undefined; ;) {
    const page = await store.listRuns({ parent_run_id: runId }, { limit: 500, ...(cursor ? { cursor } : {}) });
    found.push(...page.items.filter((child) => !isTerminalRunStatus(child.status)));
    if (!page.next_cursor) return found;
    cursor = page.next_cursor;
  }
}
