import type { AllowedKinds, PlanDocument, RunDocument, ScheduleDocument } from '../../generated/schemas.js';
import type { RunStore } from '../../store/port.js';
import type { CompiledPlan } from '../../plan/compile-plan.js';
import { DEFAULT_API_KINDS, kindPolicyOf, kindsOfStep, type KindPolicy } from './kind-policy.js';

/**
 * The step kinds a run may execute: what it recorded when it was created. A run stored before runs recorded them
 * counts as its origin most likely allowed: all kinds when its root run's plan came from a file (`maestro-run`,
 * `plans apply`, their schedules: local use goes on as before), the API's default kinds otherwise (a plan
 * sent as a document, over the API or from code), so an old API run drained by a worker gets no `exec`.
 */
export async function kindsOfRun(store: RunStore, run: RunDocument): Promise<KindPolicy> {
  if (run.allowed_kinds !== undefined) return kindPolicyOf(run.allowed_kinds);
  const root = run.root_run_id === run.run_id ? run : await store.getRun(run.root_run_id);
  const planDoc = root ? await store.getPlan(root.plan_id, root.plan_version) : undefined;
  return kindPolicyOf(legacyKinds(planDoc));
}

/**
 * Whether a runner allowing `runner` may execute every step of a run that the run itself allows: so each step
 * either runs there or is refused by the run, wherever it runs.
 */
export async function runnerCovers(
  store: RunStore,
  run: RunDocument,
  compiled: CompiledPlan,
  runner: KindPolicy,
): Promise<boolean> {
  const allowed = await kindsOfRun(store, run);
  for (const step of compiled.steps.values())
    for (const kind of kindsOfStep(step.spec)) if (allowed.allows(kind) && !runner.allows(kind)) return false;
  return true;
}

/** The kinds the runs of a schedule may execute; one stored before schedules recorded them is read as a run is. */
export function kindsOfSchedule(schedule: ScheduleDocument, planDoc: PlanDocument): AllowedKinds {
  return schedule.allowed_kinds ?? legacyKinds(planDoc);
}

function legacyKinds(planDoc: PlanDocument | undefined): AllowedKinds {
  return planDoc?.source_path ? 'all' : [...DEFAULT_API_KINDS];
}
