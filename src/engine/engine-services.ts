import type { ArtifactDocument, RunDocument } from '../generated/schemas.js';
import type { Clock } from '../domain/clock.js';
import type { Telemetry } from '../domain/telemetry.js';
import type { EventBus } from '../events/event-bus.js';
import type { CompiledPlan } from '../plan/compile-plan.js';
import type { LeaseRequest, ProvenanceRefs, RunStore } from '../store/port.js';
import type { ExecutorRegistry } from './executors/executor-registry.js';
import type { LeaseKeeper } from './workers/lease-keeper.js';
import type { RunnerSlots } from './workers/runner-slots.js';
import type { KindPolicy } from './trust/kind-policy.js';
import type { SecretProvider } from './secrets/secret-provider.js';
import type { ChildRunRequest } from './runs/child-runs.js';
import type { ArtifactRequest } from './executors/step-context.js';

/** What the parts of a runner share; built once by Engine. */
export interface EngineServices {
  readonly store: RunStore;
  readonly events: EventBus;
  readonly executors: ExecutorRegistry;
  readonly runnerId: string;
  readonly leases: LeaseKeeper;
  readonly slots: RunnerSlots;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly pollMs: number;
  readonly workspace: string;
  readonly logsDir: string;
  /** Bytes one step attempt may log. */
  readonly maxLogBytes: number;
  /** Artifact files: the largest this runner stores or writes, and the runner's own files no step may have written. */
  readonly artifacts: { readonly maxBytes: number; readonly hidden: readonly string[] };
  /** Where `${{ secrets.X }}` values come from, at attempt time. */
  readonly secrets: SecretProvider;
  /** The environment `exec` steps start from, given the plan's env_passthrough (minimal unless inheritance is on). */
  execEnvironment(passthrough: readonly string[]): Record<string, string>;
  /** The sandbox exec steps run in, when there is one; decided on first use (it may probe for bubblewrap). */
  sandbox(): { readonly readOnly: readonly string[]; readonly hidden: readonly string[] } | undefined;
  /** The step kinds this runner executes. */
  readonly kindPolicy: KindPolicy;
  /** This runner's labels (a step's runs_on must all be among them for it to run here). */
  readonly labels: ReadonlySet<string>;
  /** Whether steps beyond this runner's free slots are offered to other runners (see EngineOptions.shareSteps). */
  readonly shareSteps: boolean;
  /** A lease from now, for a claim by this runner. */
  leaseRequest(): LeaseRequest;
  /** The write-only input values of a run started by this process (never stored), if any. */
  writeOnlyInputsOf(runId: string): Readonly<Record<string, unknown>> | undefined;
  /** The compiled plan of a run, compiled once per plan version. */
  compiledPlanOf(run: RunDocument): Promise<{ compiled: CompiledPlan; planDirectory: string }>;
  /**
   * Starts (or finds, by idempotency key) a child run and drives it to its end on this runner. When `signal` aborts
   * because the parent step is stopped (cancel, budget, timeout), the child run is cancelled with its own children.
   */
  runChildPlan(parent: RunDocument, request: ChildRunRequest): Promise<RunDocument>;
  /** Asks every unfinished child run of a run to stop (and so theirs): the run tree stops together. */
  cancelChildRuns(runId: string): Promise<void>;
  attachArtifact(run: RunDocument, stepId: string | undefined, request: ArtifactRequest): Promise<ArtifactDocument>;
  addProvenance(runId: string, refs: ProvenanceRefs): Promise<void>;
}
