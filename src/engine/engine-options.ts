import { join, resolve } from 'node:path';
import type { AllowedKinds, RunConcurrency, StepDocument } from '../generated/schemas.js';
import type { Clock } from '../domain/clock.js';
import type { Telemetry } from '../domain/telemetry.js';
import type { RunStore } from '../store/port.js';
import type { SandboxMode } from './executors/exec-sandbox.js';
import type { KindPolicy } from './trust/kind-policy.js';
import type { SecretProvider } from './secrets/secret-provider.js';
import { DEFAULT_MAX_ARTIFACT_BYTES } from './artifacts/artifact-upload.js';

export interface EngineOptions {
  store: RunStore;
  /** Unique per runner process; defaults to host:pid:ulid. */
  runnerId?: string;
  /** Lease length; renewed at a third of it. Store timeouts stay below it. Default 30 s. */
  leaseMs?: number;
  /** How often a waiting run looks at the store for outside changes. Default 200 ms. */
  pollMs?: number;
  /** Steps this runner executes at once, across runs (its own and those it takes from others' offers). Default 16. */
  concurrency?: number;
  /** This runner's labels: it executes only steps whose `runs_on` labels it all has (none: any runner's). */
  labels?: readonly string[];
  /**
   * Offer ready steps this runner has no free slot for to other runners on the store (and take theirs): workers and
   * servers do. Off by default, so one process running a plan (maestro-run) works as before. Steps whose runs_on
   * labels this runner lacks are offered either way.
   */
  shareSteps?: boolean;
  /** Root for exec cwd, artifact paths and logs. Default: the current directory. */
  workspace?: string;
  logsDir?: string;
  /** Bytes a step attempt may log (file and store alike); past them it fails LOG_TOO_LARGE. Default 64 MiB. */
  maxLogBytes?: number;
  /** Largest artifact file this runner stores (a declared one) or writes (artifacts_in). Default 1 GiB. */
  maxArtifactBytes?: number;
  /** Owner of plans and runs when none is given. Default `local`. */
  defaultOwner?: string;
  /** What "now" is and when timers fire. Default: the system clock; tests pass a ManualClock. */
  clock?: Clock;
  /** Where `${{ secrets.X }}` values come from. Default: `MAESTRO_SECRET_<X>` in `environment`. */
  secrets?: SecretProvider;
  /** The runner's environment: the source of exec steps' PATH, HOME, … and env_passthrough. Default: process.env. */
  environment?: NodeJS.ProcessEnv;
  /** Exec steps in a bubblewrap sandbox: `auto` (default) when bwrap is installed, `on` requires it, `off`. */
  sandbox?: SandboxMode;
  /** More paths exec steps must not see (the tokens file, a store or secrets file elsewhere). */
  hiddenPaths?: readonly string[];
  /** Step kinds this runner executes (`shell` for exec with shell: true); others fail KIND_FORBIDDEN. Default: all. */
  allowKinds?: KindPolicy;
  /** Give exec steps the runner's whole environment (less MAESTRO_SECRET_*) instead of the minimal one. Default false. */
  inheritEnvironment?: boolean;
  /** Where run, step, hook and budget metrics go. Default: nowhere; `maestro serve` and `worker` pass Prometheus. */
  telemetry?: Telemetry;
  /** The time schedules are created and fired by (default: the clock); tests drive several workers with one. */
  schedulerNow?: () => Date;
}

export interface StartRunOptions {
  inputs?: Record<string, unknown>;
  owner?: string;
  labels?: Record<string, string>;
  idempotencyKey?: string;
  parent?: { run_id: string; step_id: string; root_run_id: string };
  rerunOf?: { run_id: string; from_step: string };
  /** Steps (by top-level key) whose earlier results are reused: created succeeded with these outputs. */
  reuse?: ReadonlyMap<string, StepDocument>;
  /** W3C traceparent the run's span hangs under (an API caller's, or the parent step attempt's). */
  traceParent?: string;
  /** The run's concurrency group, instead of its plan's. */
  concurrency?: RunConcurrency;
  /** The schedule tick this run is for. */
  schedule?: { schedule_id: string; scheduled_for: string };
  /**
   * The step kinds the run may execute, as its origin allows them (the API passes its --allow-kinds, a child run
   * its parent's narrowed by the runner's). Default `all`: the CLI and code are trusted with their plans.
   */
  allowedKinds?: AllowedKinds;
}

/** The numeric and path settings, with their defaults applied; frozen. */
export interface RunnerSettings {
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly concurrency: number;
  readonly workspace: string;
  readonly logsDir: string;
  readonly maxLogBytes: number;
  readonly maxArtifactBytes: number;
  readonly defaultOwner: string;
  /** Files the runner's configuration names (tokens, secrets, …), absolute: never read for a step or a caller. */
  readonly hiddenPaths: readonly string[];
}

/** Bytes a step attempt may log unless told otherwise. */
export const DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024;

/** Steps one runner runs at once unless told otherwise. */
export const DEFAULT_CONCURRENCY = 16;

export function runnerSettingsOf(options: EngineOptions): RunnerSettings {
  const workspace = resolve(options.workspace ?? process.cwd());
  return Object.freeze({
    leaseMs: options.leaseMs ?? 30_000,
    pollMs: options.pollMs ?? 200,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    workspace,
    logsDir: options.logsDir ?? join(workspace, '.maestro', 'logs'),
    maxLogBytes: options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
    maxArtifactBytes: options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES,
    defaultOwner: options.defaultOwner ?? 'local',
    hiddenPaths: Object.freeze((options.hiddenPaths ?? []).map((path) => resolve(path))),
  });
}
