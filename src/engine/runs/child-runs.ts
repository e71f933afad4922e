import type { PlanDocument, RunDocument } from '../../generated/schemas.js';
import { isMaestroError } from '../../domain/errors.js';
import { isTerminalRunStatus } from '../../domain/status.js';
import type { RunStore } from '../../store/port.js';
import type { StartRunOptions } from '../engine-options.js';
import { assertReadableForStep } from '../trust/hidden-from-steps.js';
import type { KindPolicy } from '../trust/kind-policy.js';

/** What the run tree needs of the engine: it starts, drives and cancels runs the way any caller does. */
export interface RunTreeEngine {
  readonly store: RunStore;
  applyPlanFile(path: string, owner?: string): Promise<PlanDocument>;
  startRun(planDoc: PlanDocument, options: StartRunOptions): Promise<{ run: RunDocument; created: boolean }>;
  executeRun(runId: string, options: { signal?: AbortSignal }): Promise<RunDocument | undefined>;
  cancelRun(runId: string): Promise<RunDocument>;
}

/** The reasons a stopped step passes on to its child run. */
const stopsChildRuns: ReadonlySet<string> = new Set(['CANCELLED', 'BUDGET_EXCEEDED', 'STEP_TIMEOUT']);

/** What a `plan` step asks of the run tree. */
export interface ChildRunRequest {
  parentStepId: string;
  /** The child run's idempotency key: the runner that takes the parent step over finds the same child run. */
  key: string;
  planPath: string;
  inputs: Record<string, unknown>;
  signal: AbortSignal;
  /** The parent attempt's span: the child run's span hangs under it. */
  traceParent: string | undefined;
  /** What the child run may execute: its parent's kinds, narrowed by the runner that starts it. */
  kinds: KindPolicy;
}

/**
 * Starts (or finds, by idempotency key) the child run of a `plan` step and drives it to its end here. A stopped
 * parent step stops its child run; a lost lease or store does not: the runner that takes the parent over runs
 * the step again and finds the same child run by its key. The plan file is never one the runner hides from steps.
 */
export async function runChildPlan(
  engine: RunTreeEngine,
  parent: RunDocument,
  request: ChildRunRequest,
  hidden: readonly string[],
): Promise<RunDocument> {
  const { signal, traceParent } = request;
  assertReadableForStep(request.planPath, hidden, '$.with.plan');
  const planDoc = await engine.applyPlanFile(request.planPath, parent.owner);
  if (signal.aborted) throw signal.reason;
  const { run } = await engine.startRun(planDoc, {
    inputs: request.inputs,
    owner: parent.owner,
    idempotencyKey: request.key,
    parent: { run_id: parent.run_id, step_id: request.parentStepId, root_run_id: parent.root_run_id },
    allowedKinds: request.kinds.kinds,
    ...(traceParent ? { traceParent } : {}),
  });
  const onAbort = (): void => {
    if (isMaestroError(signal.reason) && stopsChildRuns.has(signal.reason.code))
      void cancelIfUnfinished(engine, run.run_id).catch(() => undefined);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    // Stopped while another runner drives the child: what it has reported so far, as stored, is the step's cost.
    return (await engine.executeRun(run.run_id, { signal })) ?? (await engine.store.getRun(run.run_id)) ?? run;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Asks every unfinished child run of a run to stop; each stops its own children in turn. */
export async function cancelChildRuns(engine: RunTreeEngine, runId: string): Promise<void> {
  for (let cursor: string | undefined; ;) {
    const page = await engine.store.listRuns({ parent_run_id: runId }, { limit: 500, ...(cursor ? { cursor } : {}) });
    for (const child of page.items)
      if (!isTerminalRunStatus(child.status)) await cancelIfUnfinished(engine, child.run_id);
    if (!page.next_cursor) return;
    cursor = page.next_cursor;
  }
}

/** cancelRun, for a run that may end on its own meanwhile (a child whose end races its parent's stop). */
async function cancelIfUnfinished(engine: RunTreeEngine, runId: string): Promise<void> {
  try {
    await engine.cancelRun(runId);
  } catch (error) {
    if (!isMaestroError(error, 'RUN_ILLEGAL_TRANSITION')) throw error;
  }
}
