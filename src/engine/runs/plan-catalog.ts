import { dirname, resolve } from 'node:path';
import type { Plan, PlanDocument, RunDocument } from '../../generated/schemas.js';
import { isoNow, type Clock } from '../../domain/clock.js';
import { MaestroError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { assertJsonWithin, Limits } from '../../domain/json-limits.js';
import type { HookRegistry } from '../../events/hook-registry.js';
import { compilePlan, type CompiledPlan, type StepKindCatalog } from '../../plan/compile-plan.js';
import { loadPlanFile, MAX_PLAN_DEPTH } from '../../plan/load-plan.js';
import { assertMatchesSchema } from '../../schema/validators.js';
import type { RunStore } from '../../store/port.js';
import { assertPlanKindsAllowed, type KindPolicy } from '../trust/kind-policy.js';

export interface ApplyPlanOptions {
  owner?: string;
  sourcePath?: string;
  /** Refuse a plan using another step kind (KIND_FORBIDDEN, JSON paths under `kindsPath`) before storing it. */
  allowKinds?: { policy: KindPolicy; where: string; kindsPath: string };
}

/** Plans as a runner knows them: checked and compiled once per version, stored by name and owner. */
export class PlanCatalog {
  private readonly compiledByVersion = new Map<string, CompiledPlan>();
  /** ofRun's answers, by plan_id@version (as many as compiledByVersion holds versions). */
  private readonly runPlans = new Map<string, { compiled: CompiledPlan; planDirectory: string }>();

  constructor(
    private readonly parts: {
      store: RunStore;
      clock: Clock;
      kinds: StepKindCatalog;
      hooks: HookRegistry;
      defaultOwner: string;
      workspace: string;
    },
  ) {}

  /** Checks a plan completely (bounds, schema, cycles, needs, expressions, kinds, hooks), once per version. */
  compile(plan: Plan): CompiledPlan {
    // Bounded before anything walks it: a hostile plan may nest far deeper than any real one.
    assertJsonWithin(plan, { maxDepth: MAX_PLAN_DEPTH, maxBytes: Limits.documentBytes }, '$', 'PLAN_INVALID');
    // Plans built in code get the same schema check as plan files.
    assertMatchesSchema<Plan>('plan.schema.json', plan, 'PLAN_INVALID', 'plan');
    const compiled = compilePlan(plan, this.parts.kinds);
    const { hooks } = this.parts;
    (plan.hooks ?? []).forEach((name, index) => {
      if (!hooks.has(name))
        throw new MaestroError('PLAN_INVALID', `$.hooks[${index}]: unknown hook "${name}"`, {
          details: { path: `$.hooks[${index}]`, expected: `one of ${hooks.names().join(', ')}` },
        });
    });
    const cached = this.compiledByVersion.get(compiled.version);
    if (cached) return cached;
    this.compiledByVersion.set(compiled.version, compiled);
    return compiled;
  }

  /**
   * The compiled form of a stored plan version. Its version is the hash of its spec, so a version compiled once in
   * this process is not checked, hashed and compiled again on every start and every drive.
   */
  compileStored(planDoc: PlanDocument): CompiledPlan {
    return this.compiledByVersion.get(planDoc.version) ?? this.compile(planDoc.steps_spec);
  }

  /** Stores a plan version (idempotent: the same spec is the same version of the same plan_id). */
  async apply(plan: Plan, options: ApplyPlanOptions = {}): Promise<{ plan: PlanDocument; created: boolean }> {
    const compiled = this.compile(plan);
    const { allowKinds } = options;
    if (allowKinds) assertPlanKindsAllowed(compiled, allowKinds.policy, allowKinds.where, allowKinds.kindsPath);
    const owner = options.owner ?? plan.owner ?? this.parts.defaultOwner;
    const planId = (await this.parts.store.findPlanId(owner, plan.name)) ?? newId();
    return this.parts.store.savePlan({
      plan_id: planId,
      name: plan.name,
      version: compiled.version,
      ...(plan.description ? { description: plan.description } : {}),
      owner,
      created_at: isoNow(this.parts.clock),
      steps_spec: plan,
      labels: plan.labels ?? {},
      ...(options.sourcePath ? { source_path: resolve(options.sourcePath) } : {}),
    });
  }

  /** Loads, checks and compiles a plan file; every error names the file as well as the JSON path. */
  compileFile(path: string): { plan: Plan; compiled: CompiledPlan; path: string } {
    const loaded = loadPlanFile(path);
    try {
      return { plan: loaded.plan, compiled: this.compile(loaded.plan), path: loaded.path };
    } catch (error) {
      if (error instanceof MaestroError && error.code === 'PLAN_INVALID' && error.details.file === undefined) {
        throw new MaestroError('PLAN_INVALID', `${path}: ${error.message}`, {
          details: { ...error.details, file: path },
        });
      }
      throw error;
    }
  }

  async applyFile(path: string, owner?: string): Promise<PlanDocument> {
    const loaded = this.compileFile(path);
    return (await this.apply(loaded.plan, { ...(owner ? { owner } : {}), sourcePath: loaded.path })).plan;
  }

  /** The compiled plan of a run, and the directory its relative paths (child plans) resolve against. */
  async ofRun(run: RunDocument): Promise<{ compiled: CompiledPlan; planDirectory: string }> {
    // A plan version never changes: a worker taking many attempts of one plan reads it once.
    const key = `${run.plan_id}@${run.plan_version}`;
    const known = this.runPlans.get(key);
    if (known) return known;
    const planDoc = await this.parts.store.getPlan(run.plan_id, run.plan_version);
    if (!planDoc)
      throw new MaestroError(
        'PLAN_NOT_FOUND',
        `plan ${run.plan_id} version ${run.plan_version} of run ${run.run_id} is not in the store`,
      );
    const found = {
      compiled: this.compileStored(planDoc),
      planDirectory: planDoc.source_path ? dirname(planDoc.source_path) : this.parts.workspace,
    };
    this.runPlans.set(key, found);
    return found;
  }
}
