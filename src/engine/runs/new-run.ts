import type { PlanDocument, RunDocument, StepDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { defineOwn } from '../../domain/own-property.js';
import type { CompiledPlan } from '../../plan/compile-plan.js';
import { planVersion } from '../../plan/plan-version.js';
import type { StartRunOptions } from '../engine-options.js';
import { allKinds, intersectKinds, type KindPolicy } from '../trust/kind-policy.js';
import { MASK } from '../secrets/secret-masker.js';
import { buildInitialSteps } from '../run-loop/step-tree.js';

/**
 * The documents of a new run: the run (write-only inputs stored as ***) and its initial steps, plus the write-only
 * values, which are kept in the starting process's memory only.
 */
export function newRunDocuments(
  planDoc: PlanDocument,
  compiled: CompiledPlan,
  given: Record<string, unknown>,
  options: StartRunOptions & { runId: string; owner: string; now: string },
): { run: RunDocument; steps: StepDocument[]; held?: Record<string, unknown> } {
  const { runId, owner, now } = options;
  const { stored: inputs, held } = splitWriteOnly(given, compiled.names.writeOnlyInputs);
  const run: RunDocument = {
    run_id: runId,
    plan_id: planDoc.plan_id,
    plan_version: planDoc.version,
    plan_name: planDoc.name,
    status: 'pending',
    created_at: now,
    owner,
    inputs,
    budget: compiled.plan.budget ?? {},
    usage: { cost: 0 },
    root_run_id: options.parent?.root_run_id ?? runId,
    ...(options.parent ? { parent_run_id: options.parent.run_id, parent_step_id: options.parent.step_id } : {}),
    provenance: { intelgraph_entity_ids: [], claim_ledger_manifest_ids: [], claim_ledger_manifest_paths: [] },
    labels: options.labels ?? {},
    ...(compiled.plan.secrets?.length ? { secret_names: [...compiled.plan.secrets] } : {}),
    ...(options.idempotencyKey
      ? {
          idempotency_key: `${owner}:${options.idempotencyKey}`,
          request_sha256: startRequestDigest(planDoc, inputs, options),
        }
      : {}),
    ...(options.rerunOf ? { rerun_of: options.rerunOf } : {}),
    ...(options.traceParent ? { trace_parent: options.traceParent } : {}),
    ...(options.schedule ?? {}),
    // What the run may execute travels with it: every runner that drives it, and every child run, narrows it.
    allowed_kinds: options.allowedKinds ?? 'all',
  };
  const steps = buildInitialSteps(compiled, runId, now).map((step) => reuseIfAsked(step, options.reuse));
  return { run, steps, ...(held ? { held } : {}) };
}

/**
 * Like a payment API: one key names one request. A different request under a key already used is refused, not
 * answered with the first run.
 */
export function assertSameRequest(asked: RunDocument, found: RunDocument, idempotencyKey: string | undefined): void {
  if (!asked.request_sha256 || !found.request_sha256 || found.request_sha256 === asked.request_sha256) return;
  throw new MaestroError(
    'IDEMPOTENCY_CONFLICT',
    `idempotency key "${idempotencyKey}" was used for a different request (run ${found.run_id})`,
    {
      details: {
        path: 'idempotency_key',
        run_id: found.run_id,
        expected: 'the same plan version, inputs and labels as the first request, or a new key',
      },
    },
  );
}

/** What makes two starts under one idempotency key the same request. */
function startRequestDigest(planDoc: PlanDocument, inputs: Record<string, unknown>, options: StartRunOptions): string {
  return planVersion({
    plan_id: planDoc.plan_id,
    plan_version: planDoc.version,
    inputs,
    labels: options.labels ?? {},
    parent: options.parent ?? null,
    rerun_of: options.rerunOf ?? null,
  });
}

function splitWriteOnly(
  inputs: Record<string, unknown>,
  writeOnly: ReadonlySet<string>,
): { stored: Record<string, unknown>; held?: Record<string, unknown> } {
  const names = Object.keys(inputs).filter((name) => writeOnly.has(name));
  if (names.length === 0) return { stored: inputs };
  const stored = { ...inputs };
  const held: Record<string, unknown> = {};
  for (const name of names) {
    defineOwn(held, name, inputs[name]);
    defineOwn(stored, name, MASK);
  }
  return { stored, held };
}

function reuseIfAsked(step: StepDocument, reuse: ReadonlyMap<string, StepDocument> | undefined): StepDocument {
  const old = reuse?.get(step.key);
  if (!old) return step;
  return {
    ...step,
    status: 'succeeded',
    skip_reason: 'reused',
    outputs: old.outputs ?? {},
    ...(old.cost ? { cost: old.cost } : {}),
    ended_at: step.created_at,
  };
}

export interface RerunOptions {
  inputs?: Record<string, unknown>;
  owner?: string;
  /** What the caller may start (the API's kinds): the new run keeps no more than this and the old run had. */
  allowKinds?: KindPolicy;
}

/** How a rerun from `fromStep` starts: the old run's inputs, owner, labels and kinds, reusing what came before. */
export function rerunStart(
  compiled: CompiledPlan,
  old: { run: RunDocument; steps: readonly StepDocument[] },
  fromStep: string,
  oldKinds: KindPolicy,
  options: RerunOptions,
): StartRunOptions {
  return {
    inputs: options.inputs ?? old.run.inputs,
    owner: options.owner ?? old.run.owner,
    labels: old.run.labels,
    rerunOf: { run_id: old.run.run_id, from_step: fromStep },
    reuse: reusedSteps(compiled, old.steps, fromStep),
    allowedKinds: intersectKinds(oldKinds, options.allowKinds ?? allKinds()).kinds,
  };
}

/**
 * The top-level steps a rerun from `fromStep` reuses: everything that succeeded and is neither `fromStep` nor
 * downstream of it (like clearing a task downstream in Airflow: what came before keeps its outputs).
 * INPUT_INVALID when `fromStep` is not a top-level step of the plan.
 */
export function reusedSteps(
  compiled: CompiledPlan,
  oldSteps: readonly StepDocument[],
  fromStep: string,
): Map<string, StepDocument> {
  if (!compiled.topLevelIds.includes(fromStep))
    throw new MaestroError(
      'INPUT_INVALID',
      `from_step "${fromStep}" is not a top-level step of plan ${compiled.plan.name}`,
      { details: { path: '$.from_step', expected: `one of ${compiled.topLevelIds.join(', ')}` } },
    );
  const rerun = new Set([fromStep]);
  for (let grew = true; grew;) {
    grew = false;
    for (const id of compiled.topLevelIds) {
      if (!rerun.has(id) && compiled.steps.get(id)!.needs.some((need) => rerun.has(need))) {
        rerun.add(id);
        grew = true;
      }
    }
  }
  const reuse = new Map<string, StepDocument>();
  for (const step of oldSteps) {
    const topKey = step.key.split('.')[0]!.replace(/\[\d+\]$/, '');
    if (!rerun.has(topKey) && step.status === 'succeeded') reuse.set(step.key, step);
  }
  return reuse;
}
