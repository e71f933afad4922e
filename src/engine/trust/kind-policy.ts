import type { AllowedKinds, PlanStep } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import type { CompiledPlan } from '../../plan/compile-plan.js';

/** `shell` is not a kind of its own: it names an `exec` step with `shell: true`, which an operator allows apart. */
export const SHELL_KIND = 'shell';

/** The kinds a plan submitted over the API may use unless the operator says otherwise: no code on the host. */
export const DEFAULT_API_KINDS: readonly string[] = ['handler', 'http', 'manual', 'noop', 'plan', 'sleep'];

/** Which step kinds may run (a runner, a run) or be submitted (the API). */
export interface KindPolicy {
  allows(kind: string): boolean;
  readonly description: string;
  /** The kinds as a run records them (`allowed_kinds`): `all`, or the list, sorted. */
  readonly kinds: AllowedKinds;
}

export function allKinds(): KindPolicy {
  return { allows: () => true, description: 'all kinds', kinds: 'all' };
}

export function onlyKinds(kinds: readonly string[]): KindPolicy {
  const allowed = new Set(kinds);
  const list = [...allowed].sort();
  return {
    allows: (kind) => allowed.has(kind),
    description: list.length > 0 ? list.join(', ') : '(none)',
    kinds: list,
  };
}

/** The policy a stored `allowed_kinds` stands for. */
export function kindPolicyOf(kinds: AllowedKinds): KindPolicy {
  return kinds === 'all' ? allKinds() : onlyKinds(kinds);
}

/** What both allow: how a run's kinds narrow as they pass from origin to child run to runner. */
export function intersectKinds(a: KindPolicy, b: KindPolicy): KindPolicy {
  if (a.kinds === 'all') return b;
  if (b.kinds === 'all') return a;
  return onlyKinds(a.kinds.filter((kind) => b.allows(kind)));
}

/** `all`, or a comma-separated list (`noop,http,exec,shell`), from a flag or the environment. */
export function parseKindPolicy(text: string): KindPolicy {
  const kinds = text
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  return kinds.length === 1 && kinds[0] === 'all' ? allKinds() : onlyKinds(kinds);
}

/** The kinds a step needs allowed: its `uses`, and `shell` too when it asks for a shell. */
export function kindsOfStep(spec: Pick<PlanStep, 'uses' | 'with'>): string[] {
  if (!spec.uses) return [];
  return spec.uses === 'exec' && (spec.with as { shell?: unknown } | undefined)?.shell === true
    ? ['exec', SHELL_KIND]
    : [spec.uses];
}

function forbidden(kind: string, stepId: string, path: string, policy: KindPolicy, where: string): MaestroError {
  return new MaestroError(
    'KIND_FORBIDDEN',
    `step "${stepId}" uses ${kind}, which ${where} does not allow (allowed: ${policy.description})`,
    {
      details: { path, step: stepId, kind, expected: `one of ${policy.description}` },
    },
  );
}

/** Refuses a plan with a step whose kind the policy forbids, naming the first such step and its JSON path. */
export function assertPlanKindsAllowed(
  compiled: CompiledPlan,
  policy: KindPolicy,
  where: string,
  pathPrefix = '$',
): void {
  for (const step of compiled.steps.values()) {
    for (const kind of kindsOfStep(step.spec)) {
      if (!policy.allows(kind))
        throw forbidden(kind, step.id, `${pathPrefix}${step.path.slice(1)}.uses`, policy, where);
    }
  }
}

/**
 * Refuses to run one step whose kind the run (what its origin allowed) or the runner forbids: the plan may come
 * from a file nobody checked when the run was created (a child plan), so every attempt checks both.
 */
export function assertStepKindAllowed(
  spec: Pick<PlanStep, 'uses' | 'with'>,
  stepId: string,
  path: string,
  policies: { run: KindPolicy; runner: KindPolicy },
): void {
  for (const kind of kindsOfStep(spec)) {
    if (!policies.run.allows(kind)) throw forbidden(kind, stepId, `${path}.uses`, policies.run, 'this run');
    if (!policies.runner.allows(kind)) throw forbidden(kind, stepId, `${path}.uses`, policies.runner, 'this runner');
  }
}
