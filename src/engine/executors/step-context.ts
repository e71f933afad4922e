import type { ArtifactDocument, RunDocument, StepDocument } from '../../generated/schemas.js';
import type { ProvenanceRefs } from '../../store/port.js';

export interface StepLogger {
  /** Raw text into the attempt's log (what a program printed). */
  write(text: string | Buffer): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ArtifactRequest {
  type: ArtifactDocument['type'];
  name?: string;
  /** A file in the workspace (relative) or an absolute path inside it; its sha256 and size are recorded. */
  path?: string;
  url?: string;
  media_type?: string;
  metadata?: Record<string, unknown>;
  intelgraph_entity_ids?: string[];
  /** A claim-ledger reference the step already has (from a ledger client it called). */
  claim_ledger_ref?: string;
}

export interface UpstreamStep {
  status: StepDocument['status'];
  outputs: Record<string, unknown>;
}

/** What an executor gets for one attempt of one step. */
export interface StepContext {
  readonly run: RunDocument;
  readonly step: StepDocument;
  /** The step's `with`, expressions resolved. */
  readonly args: Record<string, unknown>;
  readonly inputs: Record<string, unknown>;
  /** Steps this one can read through `steps.<id>`, by plan id. */
  readonly upstream: Readonly<Record<string, UpstreamStep>>;
  readonly attempt: number;
  /** `${run_id}:${step key}:${attempt}`: stable across a takeover of the same attempt, for idempotent side effects. */
  readonly idempotencyKey: string;
  /** Aborted on timeout, cancellation, budget stop or a lost lease. `signal.reason` says which. */
  readonly signal: AbortSignal;
  readonly workspace: string;
  /** The environment a program started by the step begins with: minimal by default (see execEnvironment). */
  readonly environment: Readonly<Record<string, string>>;
  /** Set when programs run in the sandbox: what they may read but not change, and what they may not see. */
  readonly sandbox?: { readonly readOnly: readonly string[]; readonly hidden: readonly string[] } | undefined;
  /**
   * W3C traceparent of this attempt's span when tracing is on: exec steps get it as TRACEPARENT, http steps as a
   * `traceparent` header; a handler runs with the span active, so OpenTelemetry code in it nests under it.
   */
  readonly traceparent?: string;
  /** Absolute path of this attempt's log file. */
  readonly logPath: string;
  readonly logger: StepLogger;
  /** Directory of the plan file the step belongs to (child plan paths are relative to it). */
  readonly planDirectory: string;
  attachArtifact(request: ArtifactRequest): Promise<ArtifactDocument>;
  reportCost(amount: number): void;
  /** Adds provenance references (claim-ledger manifest ids and paths, IntelGraph entity ids) to the run. */
  addProvenance(refs: ProvenanceRefs): Promise<void>;
  /** Starts and runs a child plan to its end on this runner; its cost rolls up into this step. */
  runChildPlan(planPath: string, inputs: Record<string, unknown>): Promise<RunDocument>;
}

export interface StepExecutionResult {
  outputs?: Record<string, unknown>;
  child_run_id?: string;
  /** The step now waits for an external status update (manual steps, external workers). */
  awaitExternal?: boolean;
}

export interface StepExecutor {
  readonly kind: string;
  /** Schema id (under schemas/) of this kind's `with`, checked at compile time and again once resolved. */
  readonly withSchema?: string;
  execute(context: StepContext): Promise<StepExecutionResult>;
}
