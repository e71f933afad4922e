import type { RunDocument, StepDocument } from '../../generated/schemas.js';
import { MaestroError, toMaestroError } from '../../domain/errors.js';
import { nowMs } from '../../domain/clock.js';
import { assertJsonWithin, Limits } from '../../domain/json-limits.js';
import type { CompiledPlan, CompiledStep } from '../../plan/compile-plan.js';
import { evaluateValue, type ExpressionContext } from '../../plan/expressions.js';
import { findSchemaFault } from '../../schema/validators.js';
import { traceContexts, type Context } from '../../domain/trace-context.js';
import type { LeaseToken } from '../../store/port.js';
import type { EngineServices } from '../engine-services.js';
import { assertStepKindAllowed, intersectKinds, type KindPolicy } from '../trust/kind-policy.js';
import { kindsOfRun } from '../trust/run-kinds.js';
import type { SecretMasker } from '../secrets/secret-masker.js';
import { resolveStepSecrets } from '../secrets/step-secrets.js';
import type { StepContext, StepExecutor, UpstreamStep } from '../executors/step-context.js';
import { openAttemptLog } from '../logs/attempt-log.js';
import { writeArtifactInputs } from '../artifacts/artifact-inputs.js';
import { attachDeclaredArtifacts } from '../artifacts/declared-artifacts.js';
import type { StepLog } from '../logs/step-log.js';
import { settleWithinBound } from './stop-bound.js';

/** How one attempt ended, for the driver to record under the attempt's lease. */
export type AttemptOutcome =
  | {
      kind: 'succeeded';
      key: string;
      token: LeaseToken;
      outputs: Record<string, unknown>;
      cost: number;
      logsRef: string;
      childRunId?: string;
    }
  | { kind: 'await_external'; key: string; token: LeaseToken; cost: number; logsRef: string }
  | { kind: 'failed'; key: string; token: LeaseToken; error: MaestroError; cost: number; logsRef: string };

export interface StepAttempt {
  services: EngineServices;
  plan: CompiledPlan;
  planDirectory: string;
  run: RunDocument;
  step: StepDocument;
  compiled: CompiledStep;
  token: LeaseToken;
  controller: AbortController;
  /** The claim took over an attempt whose runner's lease expired (same attempt number), rather than starting one. */
  takeover: boolean;
  /** The run's masker: every secret this attempt resolves joins it. */
  masker: SecretMasker;
  /** The step's `${{ }}` context, without secrets and write-only inputs (added here, for this attempt only). */
  scope: ExpressionContext;
  /** The attempt's span: the executor runs in its context and gets its traceparent. */
  trace: { context: Context; traceparent: string | undefined };
}

/**
 * Begins an attempt this runner has just claimed, wherever it was offered: counts it (with how long it waited since
 * it was ready, as `seen` before the claim showed it) and holds its lease, which aborts the attempt when lost.
 * runStepAttempt lets the lease and the slot go. A step seen running was an expired lease's attempt: a takeover.
 */
export function beginAttempt(
  services: EngineServices,
  seen: StepDocument,
  claimed: StepDocument,
): { token: LeaseToken; controller: AbortController; takeover: boolean } {
  const takeover = seen.status === 'running';
  const waitedMs = nowMs(services.clock) - Date.parse(seen.ready_at ?? seen.created_at);
  services.telemetry.attemptStarted(claimed.uses ?? 'none', waitedMs / 1000, takeover);
  const token = { owner: claimed.lease!.owner, fence: claimed.lease!.fence };
  const controller = new AbortController();
  services.leases.hold('step', claimed.step_id, token, () =>
    controller.abort(new MaestroError('LEASE_LOST', `runner ${token.owner} lost the lease of step ${claimed.key}`)),
  );
  return { token, controller, takeover };
}

/**
 * Runs one attempt of a leaf step: resolves its `with`, runs its executor within its timeout, attaches the
 * artifacts it declares. Never throws: every ending is an outcome for the driver to record.
 */
export async function runStepAttempt(attempt: StepAttempt): Promise<AttemptOutcome> {
  const { services, run, step, compiled, token, controller, masker } = attempt;
  const log = openAttemptLog(services, step, masker, controller, attempt.takeover);
  const logsRef = log.path;
  const cost = { total: 0 };
  const cancelTimeout = compiled.timeoutMs
    ? services.clock.setTimer(() => controller.abort(timeoutError(step, compiled.timeoutMs!)), compiled.timeoutMs)
    : undefined;
  try {
    const executor = services.executors.get(step.uses ?? '');
    if (!executor)
      throw new MaestroError('EXECUTOR_UNKNOWN', `no executor for step kind "${step.uses}" on this runner`, {
        retryable: false,
      });
    const held = services.writeOnlyInputsOf(run.run_id);
    const inputs = held ? { ...run.inputs, ...held } : run.inputs;
    const secrets = await resolveStepSecrets(compiled, {
      runId: run.run_id,
      writeOnlyInputs: attempt.plan.names.writeOnlyInputs,
      held,
      provider: services.secrets,
      masker,
    });
    // The kinds this attempt may use: what the run's origin allowed, and what this runner executes.
    const kinds = { run: await kindsOfRun(services.store, run), runner: services.kindPolicy };
    const args = resolveArgs(executor, attempt, { ...attempt.scope, inputs, secrets }, kinds);
    const context = stepContextOf(attempt, {
      args,
      inputs,
      log,
      logsRef,
      cost,
      kinds: intersectKinds(kinds.run, kinds.runner),
    });
    // The upstream artifact files it names are in its workspace before it starts, wherever it runs.
    await writeArtifactInputs(attempt, log);
    const running = traceContexts.with(attempt.trace.context, () => executor.execute(context));
    const result = await settleWithinBound(running, controller.signal, services.clock);
    if (controller.signal.aborted) throw controller.signal.reason;
    if (result.awaitExternal) return { kind: 'await_external', key: step.key, token, cost: cost.total, logsRef };
    // Nothing a step returns is stored before every secret in it is masked, nor when it is too big to store.
    const outputs = masker.maskValue(result.outputs ?? {});
    assertJsonWithin(
      outputs,
      { maxDepth: Limits.jsonDepth, maxBytes: Limits.outputsBytes },
      `outputs of step ${step.key}`,
      'OUTPUT_TOO_LARGE',
    );
    await attachDeclaredArtifacts(attempt);
    return {
      kind: 'succeeded',
      key: step.key,
      token,
      outputs,
      cost: cost.total,
      logsRef,
      ...(result.child_run_id ? { childRunId: result.child_run_id } : {}),
    };
  } catch (error) {
    const failure = maskError(
      masker,
      controller.signal.aborted ? toMaestroError(controller.signal.reason) : toMaestroError(error, 'STEP_FAILED'),
    );
    log.error(failure.message);
    return { kind: 'failed', key: step.key, token, error: failure, cost: cost.total, logsRef };
  } finally {
    cancelTimeout?.();
    await log.close();
    services.leases.release('step', step.step_id);
    services.slots.release();
  }
}

function timeoutError(step: StepDocument, timeoutMs: number): MaestroError {
  return new MaestroError('STEP_TIMEOUT', `step ${step.key} ran longer than its timeout of ${timeoutMs} ms`, {
    details: { timeout_ms: timeoutMs },
  });
}

/** The step's `with`, evaluated now; checked against the kind policy and the executor's schema once resolved. */
function resolveArgs(
  executor: StepExecutor,
  attempt: StepAttempt,
  context: ExpressionContext,
  kinds: { run: KindPolicy; runner: KindPolicy },
): Record<string, unknown> {
  const { step, compiled } = attempt;
  let args: Record<string, unknown>;
  try {
    args = evaluateValue(compiled.spec.with ?? {}, context) as Record<string, unknown>;
  } catch (error) {
    throw toMaestroError(error, 'EXPRESSION_INVALID');
  }
  // Resolved args decide whether an exec step asks for a shell.
  assertStepKindAllowed({ uses: step.uses, with: args }, compiled.id, compiled.path, kinds);
  const fault = executor.withSchema ? findSchemaFault(executor.withSchema, args) : undefined;
  if (fault)
    throw new MaestroError(
      'INPUT_INVALID',
      `step ${step.key}: resolved with is invalid at ${fault.path}: expected ${fault.expected}`,
      { retryable: false, details: { path: `${compiled.path}.with${fault.path.slice(1)}`, expected: fault.expected } },
    );
  return args;
}

function stepContextOf(
  attempt: StepAttempt,
  parts: {
    args: Record<string, unknown>;
    inputs: Record<string, unknown>;
    log: StepLog;
    logsRef: string;
    cost: { total: number };
    /** What a child run started here may execute. */
    kinds: KindPolicy;
  },
): StepContext {
  const { services, run, step, controller, masker } = attempt;
  const passthrough = attempt.plan.plan.env_passthrough ?? [];
  const { cost } = parts;
  return {
    run,
    step,
    args: parts.args,
    inputs: parts.inputs,
    upstream: attempt.scope.steps as Record<string, UpstreamStep>,
    attempt: step.attempt,
    idempotencyKey: `${run.run_id}:${step.key}:${step.attempt}`,
    signal: controller.signal,
    workspace: services.workspace,
    // Only programs need these: built when an executor reads them, not for every attempt of every kind.
    get environment() {
      return services.execEnvironment(passthrough);
    },
    get sandbox() {
      return services.sandbox();
    },
    ...(attempt.trace.traceparent ? { traceparent: attempt.trace.traceparent } : {}),
    logPath: parts.logsRef,
    logger: parts.log,
    planDirectory: attempt.planDirectory,
    attachArtifact: (request) => services.attachArtifact(run, step.step_id, masker.maskValue(request)),
    addProvenance: (refs) => services.addProvenance(run.run_id, masker.maskValue(refs)),
    reportCost: (amount) => {
      if (Number.isFinite(amount) && amount > 0) cost.total = Math.min(cost.total + amount, Limits.maxCost);
    },
    runChildPlan: async (planPath, inputs) => {
      const child = await services.runChildPlan(run, {
        parentStepId: step.step_id,
        key: `${run.run_id}:${step.key}:child`,
        planPath,
        inputs,
        signal: controller.signal,
        traceParent: attempt.trace.traceparent,
        kinds: parts.kinds,
      });
      cost.total += child.usage.cost;
      return child;
    },
  };
}

function maskError(masker: SecretMasker, error: MaestroError): MaestroError {
  if (masker.isEmpty) return error;
  return new MaestroError(error.code, masker.maskText(error.message), {
    retryable: error.retryable,
    details: masker.maskValue(error.details),
  });
}
