import type { ValidateFunction } from 'ajv';
import type { Plan, PlanStep, RetryPolicy } from '../generated/schemas.js';
import { isMaestroError, MaestroError } from '../domain/errors.js';
import { PlanFaultCollector } from './plan-fault-collector.js';
import { describeAjvError } from '../schema/format-errors.js';
import { compileUserSchema, findSchemaFault } from '../schema/validators.js';
import { checkReferences, declaredNames, type DeclaredNames, type ReferenceScope } from './check-references.js';
import { checkArtifactInputs } from './check-artifact-inputs.js';
import { forEachString, hasExpression, parseExpression, parseTemplate, type ExpressionNode } from './expressions.js';
import { planVersion } from './plan-version.js';

export interface CompiledStep {
  id: string;
  spec: PlanStep;
  /** JSON path of the step in the plan file, for error messages. */
  path: string;
  parentId?: string;
  childIds: string[];
  /** Ids of the sibling steps this one waits for. */
  needs: string[];
  isGroup: boolean;
  retry: Required<Omit<RetryPolicy, 'max_backoff_ms'>> & { max_backoff_ms?: number };
  timeoutMs?: number;
  continueOnError: boolean;
  condition?: ExpressionNode;
  /** Labels a runner needs to execute it: its own runs_on, else its group's, else the plan's default (none: any). */
  runsOn: string[];
}

export interface CompiledPlan {
  plan: Plan;
  version: string;
  steps: ReadonlyMap<string, CompiledStep>;
  topLevelIds: string[];
  /** Closed inputs, write-only inputs and secrets the plan declares. */
  names: DeclaredNames;
  /** Throws INPUT_INVALID naming the field when inputs do not match the plan's `inputs` schema. */
  validateInputs(inputs: Record<string, unknown>): void;
}

/** What the compiler needs to know about step kinds: which exist, and the schema of their `with`. */
export interface StepKindCatalog {
  has(kind: string): boolean;
  withSchemaOf(kind: string): string | undefined;
  kinds(): string[];
}

const DEFAULT_RETRY = { max_attempts: 1, backoff_ms: 200, backoff_factor: 2 };
/** Groups may nest this deep: enough for real plans, and no plan can exhaust the stack. */
export const MAX_NESTING_DEPTH = 16;

function planInvalid(message: string, path: string, extra: Record<string, unknown> = {}): MaestroError {
  return new MaestroError('PLAN_INVALID', `${path}: ${message}`, { details: { path, ...extra } });
}

/** Joins a step's JSON path with a fault path that starts at `$`. */
function joinPath(prefix: string, faultPath: string): string {
  return prefix + faultPath.slice(1);
}

/** Finds one cycle among sibling steps (the ids along it, first id repeated at the end), if any. */
function findCycle(ids: string[], needsOf: (id: string) => string[]): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const need of needsOf(id)) {
      if (state.get(need) === 'visiting') return [...stack.slice(stack.indexOf(need)), need];
      if (!state.has(need)) {
        const cycle = visit(need);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    if (!state.has(id)) {
      const cycle = visit(id);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

/**
 * Checks a schema-valid plan and compiles it to a graph, once per version: duplicate ids, unknown needs,
 * cycles, bad expressions, unknown kinds and bad `with` blocks are all rejected here, before anything is stored.
 */
export function compilePlan(plan: Plan, catalog: StepKindCatalog): CompiledPlan {
  const steps = new Map<string, CompiledStep>();
  const defaults = plan.defaults ?? {};
  const faults = new PlanFaultCollector();

  const compileLevel = (
    specs: PlanStep[],
    basePath: string,
    parentId: string | undefined,
    depth = 0,
    inheritedRunsOn: string[] = defaults.runs_on ?? [],
  ): string[] => {
    if (depth > MAX_NESTING_DEPTH)
      throw planInvalid(`groups nest deeper than ${MAX_NESTING_DEPTH} levels`, basePath, {
        expected: `at most ${MAX_NESTING_DEPTH} levels of nested steps`,
      });
    const ids: string[] = [];
    specs.forEach((spec, index) => {
      const path = `${basePath}[${index}]`;
      if (steps.has(spec.id)) {
        faults.add(planInvalid(`duplicate step id "${spec.id}" (first at ${steps.get(spec.id)!.path})`, `${path}.id`));
        return;
      }
      const isGroup = Array.isArray(spec.steps);
      if (!isGroup) faults.check(() => checkStepKind(spec, path, catalog));
      const compiled: CompiledStep = {
        id: spec.id,
        spec,
        path,
        ...(parentId === undefined ? {} : { parentId }),
        childIds: [],
        needs: spec.needs ?? [],
        isGroup,
        retry: { ...DEFAULT_RETRY, ...defaults.retry, ...spec.retry },
        ...((spec.timeout_ms ?? defaults.timeout_ms) ? { timeoutMs: spec.timeout_ms ?? defaults.timeout_ms } : {}),
        continueOnError: spec.continue_on_error ?? defaults.continue_on_error ?? false,
        runsOn: spec.runs_on ?? inheritedRunsOn,
      };
      steps.set(spec.id, compiled);
      ids.push(spec.id);
      if (isGroup) compiled.childIds = compileLevel(spec.steps!, `${path}.steps`, spec.id, depth + 1, compiled.runsOn);
    });
    // needs point at siblings only: a group is the unit its outside sees.
    const siblings = new Set(ids);
    let needsKnown = true;
    for (const id of ids) {
      const step = steps.get(id)!;
      for (const [needIndex, need] of step.needs.entries()) {
        if (siblings.has(need)) continue;
        needsKnown = false;
        const where = steps.has(need)
          ? `"${need}" is not a sibling (needs may only name steps of the same level)`
          : `unknown step "${need}"`;
        faults.add(
          planInvalid(where, `${step.path}.needs[${needIndex}]`, {
            expected: `one of ${[...siblings].filter((s) => s !== id).join(', ') || '(no siblings)'}`,
          }),
        );
      }
    }
    // A cycle is looked for among needs that all name siblings.
    const cycle = needsKnown ? findCycle(ids, (id) => steps.get(id)!.needs) : undefined;
    if (cycle) {
      const first = steps.get(cycle[0]!)!;
      faults.add(planInvalid(`dependency cycle ${cycle.join(' -> ')}`, `${first.path}.needs`, { cycle }));
    }
    return ids;
  };

  const topLevelIds = compileLevel(plan.steps, '$.steps', undefined);
  const names = declaredNames(plan);
  for (const step of steps.values()) faults.check(() => checkExpressions(step, steps, names));
  for (const step of steps.values()) faults.check(() => checkArtifactInputs(step, steps, scopeOf(step, steps, 'with')));
  // The schedule block is stored with the plan: a write-only input's value there would be stored as written.
  for (const name of Object.keys(plan.schedule?.inputs ?? {}))
    if (names.writeOnlyInputs.has(name))
      faults.add(
        planInvalid(`${name} is write-only: a plan file cannot hold its value`, `$.schedule.inputs.${name}`, {
          expected: 'a schedule created over the API or CLI with secret_inputs, or the plan reading secrets',
        }),
      );
  if (plan.outputs) {
    const topLevel = new Set(topLevelIds);
    const scope: ReferenceScope = {
      reader: "the plan's outputs",
      canSee: (id) => topLevel.has(id),
      visibleSteps: () => topLevelIds,
      inForeach: false,
      allowsSecrets: false,
    };
    faults.check(() => checkExpressionStrings(plan.outputs, '$.outputs', scope, names));
  }
  faults.throwIfAny();

  const inputValidator: ValidateFunction | undefined = plan.inputs
    ? compileUserSchema(plan.inputs, '$.inputs')
    : undefined;
  return {
    plan,
    version: planVersion(plan),
    steps,
    topLevelIds,
    names,
    validateInputs(inputs) {
      if (!inputValidator || inputValidator(inputs)) return;
      const [first] = inputValidator.errors ?? [];
      const fault = first ? describeAjvError(first) : { path: '$', expected: 'valid inputs' };
      const path = fault.path.replace(/^\$/, '$.inputs');
      throw new MaestroError('INPUT_INVALID', `run inputs are invalid at ${path}: expected ${fault.expected}`, {
        details: { path, expected: fault.expected },
      });
    },
  };
}

/** With a shell, command[0] is script text: values must arrive as arguments ($1…) or env, never spliced into it. */
function checkShellScript(spec: PlanStep, path: string): void {
  const args = spec.with as { shell?: unknown; command?: unknown } | undefined;
  if (spec.uses !== 'exec' || !args) return;
  if (typeof args.shell === 'string')
    throw planInvalid('shell must be a literal true or false, not an expression', `${path}.with.shell`, {
      expected: 'true or false',
    });
  const script: unknown = Array.isArray(args.command) ? args.command[0] : undefined;
  if (args.shell === true && typeof script === 'string' && hasExpression(script)) {
    throw planInvalid(
      'with shell: true, command[0] is the script itself: pass values as later command elements ($1, $2, …) or in env, never inside the script',
      `${path}.with.command[0]`,
      {
        expected: 'a script with no ${{ }}',
      },
    );
  }
}

function checkStepKind(spec: PlanStep, path: string, catalog: StepKindCatalog): void {
  checkShellScript(spec, path);
  const kind = spec.uses!;
  if (!catalog.has(kind)) {
    throw planInvalid(`unknown step kind "${kind}"`, `${path}.uses`, {
      expected: `one of ${catalog.kinds().join(', ')}`,
    });
  }
  const schemaId = catalog.withSchemaOf(kind);
  const args = spec.with ?? {};
  const texts: string[] = [];
  forEachString(args, '$', (text) => texts.push(text));
  const holdsExpression = texts.some(hasExpression);
  // With expressions the values are only known at run time: the executor validates them then.
  if (schemaId && !holdsExpression) {
    const fault = findSchemaFault(schemaId, args);
    if (fault)
      throw planInvalid(`expected ${fault.expected}`, joinPath(`${path}.with`, fault.path), {
        expected: fault.expected,
      });
  }
}

function checkExpressionStrings(value: unknown, path: string, scope: ReferenceScope, names: DeclaredNames): void {
  forEachString(value, path, (text, where) => {
    if (!hasExpression(text)) return;
    let nodes: ExpressionNode[];
    try {
      nodes = parseTemplate(text);
    } catch (error) {
      if (isMaestroError(error)) throw planInvalid(error.message, where, { expected: 'a valid ${{ }} expression' });
      throw error;
    }
    for (const node of nodes) checkReferences(node, where, scope, names);
  });
}

/** Whether `target` is upstream of `from` among its siblings: reachable through needs (early exit, no closure kept). */
function isUpstream(target: string, from: CompiledStep, steps: ReadonlyMap<string, CompiledStep>): boolean {
  const seen = new Set<string>();
  const stack = [...from.needs];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === target) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    // An unknown need is a fault of its own (collected above); it leads nowhere.
    stack.push(...(steps.get(id)?.needs ?? []));
  }
  return false;
}

/** A step and its enclosing groups, innermost first. */
function withEnclosing(step: CompiledStep, steps: ReadonlyMap<string, CompiledStep>): CompiledStep[] {
  const chain: CompiledStep[] = [];
  for (
    let cursor: CompiledStep | undefined = step;
    cursor;
    cursor = cursor.parentId === undefined ? undefined : steps.get(cursor.parentId)
  )
    chain.push(cursor);
  return chain;
}

/** Everything upstream of a step, itself and its enclosing groups (for the message of a refused reference). */
function upstreamIds(chain: readonly CompiledStep[], steps: ReadonlyMap<string, CompiledStep>): string[] {
  return chain.flatMap((cursor) => {
    const level =
      cursor.parentId === undefined
        ? [...steps.values()].filter((s) => s.parentId === undefined)
        : steps.get(cursor.parentId)!.childIds.map((id) => steps.get(id)!);
    return level.filter((candidate) => isUpstream(candidate.id, cursor, steps)).map((candidate) => candidate.id);
  });
}

/** What a step's expressions may read: upstream steps of it or of an enclosing group; item inside foreach. */
function scopeOf(
  step: CompiledStep,
  steps: ReadonlyMap<string, CompiledStep>,
  place: 'with' | 'foreach' | 'if',
): ReferenceScope {
  const forForeachItself = place === 'foreach';
  const chain = withEnclosing(step, steps);
  // A step's own foreach list is read before its copies exist: there `item` is that of an enclosing foreach only.
  const inForeach = chain.some((s, i) => s.spec.foreach !== undefined && !(forForeachItself && i === 0));
  return {
    reader: `step "${step.id}"`,
    canSee: (id) => chain.some((s) => isUpstream(id, s, steps)),
    visibleSteps: () => upstreamIds(chain, steps),
    inForeach,
    // A plan step's with becomes the child run's stored inputs: a child plan declares its own secrets.
    allowsSecrets: place === 'with' && step.spec.uses !== 'plan',
  };
}

function checkExpressions(step: CompiledStep, steps: ReadonlyMap<string, CompiledStep>, names: DeclaredNames): void {
  const { spec, path } = step;
  if (spec.with) checkExpressionStrings(spec.with, `${path}.with`, scopeOf(step, steps, 'with'), names);
  if (typeof spec.foreach === 'string' && !/^\s*\$\{\{[\s\S]*\}\}\s*$/.test(spec.foreach))
    throw planInvalid('foreach must be one ${{ }} expression or an array', `${path}.foreach`);
  // A literal array may hold expressions too.
  if (spec.foreach !== undefined)
    checkExpressionStrings(spec.foreach, `${path}.foreach`, scopeOf(step, steps, 'foreach'), names);
  if (spec.if !== undefined) {
    const source = spec.if.trim();
    const inner = /^\$\{\{([\s\S]*)\}\}$/.exec(source)?.[1] ?? source;
    try {
      step.condition = parseExpression(inner.trim());
    } catch (error) {
      if (isMaestroError(error))
        throw planInvalid(error.message, `${path}.if`, { expected: 'a valid ${{ }} expression' });
      throw error;
    }
    // The condition is read for each foreach copy too, so item is in scope where the step has foreach.
    checkReferences(step.condition, `${path}.if`, scopeOf(step, steps, 'if'), names);
  }
}
