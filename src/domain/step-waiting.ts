import type { StepDocument } from '../generated/schemas.js';

/** Why a ready step has not started: its driver offered it, and no runner with its labels (or a free slot) took it. */
export function waitingNote(step: StepDocument): string | undefined {
  if (step.status !== 'pending' || !step.offered_at) return undefined;
  return step.runs_on?.length ? `waits for a runner with labels ${step.runs_on.join(', ')}` : 'waits for a free runner';
}
