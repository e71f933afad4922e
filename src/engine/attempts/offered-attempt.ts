import type { StepDocument } from '../../generated/schemas.js';
import { MaestroError, toMaestroError } from '../../domain/errors.js';
import { EventType } from '../../events/event-types.js';
import { writeAttemptResult } from './attempt-result.js';
import type { EngineServices } from '../engine-services.js';
import { RunSpans } from '../run-loop/run-spans.js';
import { SecretMasker } from '../secrets/secret-masker.js';
import { beginAttempt, runStepAttempt, type AttemptOutcome } from './step-attempt.js';
import { StepGraph } from '../run-loop/step-graph.js';
import { stepLogPath } from '../logs/step-log.js';
import { expressionContextOf } from '../run-loop/step-scope.js';

/**
 * Executes one attempt this runner claimed from another driver's offer (its slot taken by the caller): records its
 * start, runs it as the driver would (same context, kinds, secrets, timeout, log), then writes how it ended on the
 * step under the attempt's lease for the driver to record. Never throws.
 */
export async function runOfferedAttempt(
  services: EngineServices,
  /** The step as offered, before the claim. */
  offer: StepDocument,
  claimed: StepDocument,
): Promise<void> {
  const { token, controller, takeover } = beginAttempt(services, offer, claimed);
  let outcome: AttemptOutcome;
  try {
    outcome = await executeClaimed(services, claimed, token, controller, takeover);
  } catch (error) {
    // The run, its plan or the store could not be read: no executor ran; the slot and lease go back here.
    services.leases.release('step', claimed.step_id);
    services.slots.release();
    const failure = toMaestroError(error);
    const logsRef = stepLogPath(services.logsDir, claimed.run_id, claimed.key, claimed.attempt);
    outcome = { kind: 'failed', key: claimed.key, token, error: failure, cost: 0, logsRef };
  }
  // Refused when the lease is gone (the run stopped the step, or a runner took it over): that runner decides.
  await writeAttemptResult(services.store, claimed, outcome).catch(() => false);
}

async function executeClaimed(
  services: EngineServices,
  claimed: StepDocument,
  token: { owner: string; fence: number },
  controller: AbortController,
  takeover: boolean,
): Promise<AttemptOutcome> {
  const { store, events } = services;
  const run = await store.getRun(claimed.run_id);
  if (!run) throw new MaestroError('RUN_NOT_FOUND', `no run ${claimed.run_id} for step ${claimed.key}`);
  const start = { key: claimed.key, attempt: claimed.attempt, ...(takeover ? { takeover: true } : {}) };
  await events.record(run.run_id, EventType.stepStarted, start, claimed.step_id);
  const { compiled, planDirectory } = await services.compiledPlanOf(run);
  // The upstream steps' outputs, as stored: the `${{ }}` context is the one the driver would give.
  const graph = new StepGraph(compiled);
  graph.load(await store.listSteps(run.run_id));
  const spans = new RunSpans(run, (doc) => graph.parentOf(doc));
  const outcome = await runStepAttempt({
    services,
    plan: compiled,
    planDirectory,
    run,
    step: claimed,
    compiled: graph.compiledOf(claimed),
    token,
    controller,
    takeover,
    masker: new SecretMasker(),
    scope: expressionContextOf(graph, compiled, run, claimed),
    trace: spans.startAttempt(claimed),
  });
  spans.endAttempt(
    claimed.key,
    outcome.kind,
    outcome.cost,
    outcome.kind === 'failed' ? outcome.error.message : undefined,
  );
  spans.endStep(claimed);
  return outcome;
}
