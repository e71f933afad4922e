import type { RunDocument, StepDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import type { RunDetail, RunStore } from '../../store/port.js';

/** The run, or RUN_NOT_FOUND naming it. */
export async function requireRun(store: RunStore, runId: string): Promise<RunDocument> {
  const run = await store.getRun(runId);
  if (!run) throw new MaestroError('RUN_NOT_FOUND', `no run ${runId}`, { details: { run_id: runId } });
  return run;
}

/** The run with its steps and artifacts, or RUN_NOT_FOUND naming it. */
export async function requireRunDetail(store: RunStore, runId: string): Promise<RunDetail> {
  const detail = await store.getRunDetail(runId);
  if (!detail) throw new MaestroError('RUN_NOT_FOUND', `no run ${runId}`, { details: { run_id: runId } });
  return detail;
}

/** A step of this run, or STEP_NOT_FOUND naming the field (`path`) that named it. */
export async function requireStep(store: RunStore, runId: string, stepId: string, path: string): Promise<StepDocument> {
  const step = await store.getStep(stepId);
  if (!step || step.run_id !== runId)
    throw new MaestroError('STEP_NOT_FOUND', `run ${runId} has no step ${stepId}`, {
      details: { path, step_id: stepId },
    });
  return step;
}
