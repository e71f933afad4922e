import { DEFAULT_STORE_URL } from '../store/open.js';
import { tracingRequested } from '../observability/tracing.js';

/**
 * The environment variables the CLI reads, in one place (flags win over them). Documented in the README's
 * configuration table.
 */
export interface CliEnvironment {
  store: string;
  owner: string | undefined;
  leaseMs: number | undefined;
  pollMs: number | undefined;
  handlersModule: string | undefined;
  tokensFile: string | undefined;
  hooksConfig: string | undefined;
  storeOutageMs: number;
  /** OTEL_* ask for traces: store calls are recorded as spans too. */
  traced: boolean;
  noColor: boolean;
  /** `env` (MAESTRO_SECRET_<NAME>, the default), `file:<path>` (JSON or dotenv) or `module:<path>` (createSecretProvider). */
  secrets: string;
  /** Exec steps get the runner's whole environment (less MAESTRO_SECRET_*) instead of the minimal one. */
  execInheritEnv: boolean;
  /** MAESTRO_ALLOW_KINDS: `all` or a list; each command has its own default when unset. */
  allowKinds: string | undefined;
  /** MAESTRO_LOG_LEVEL: the level of the JSON logs of `maestro worker` and `maestro serve`. */
  logLevel: string;
  /** MAESTRO_SANDBOX: auto (default), on or off. */
  sandbox: 'auto' | 'on' | 'off';
  /** MAESTRO_SCHEDULE_MIN_INTERVAL: how close the ticks of a schedule created over the API may come (an age). */
  scheduleMinInterval: string | undefined;
  /** MAESTRO_LABELS: the labels of a worker or server's runner (gpu,eu). */
  labels: string | undefined;
  /** MAESTRO_MAX_ARTIFACT_BYTES as given: the largest artifact file a runner stores or writes (checked where used). */
  maxArtifactBytes: string | undefined;
  /** MAESTRO_MAX_LOG_BYTES as given: the bytes one step attempt may log (checked where used). */
  maxLogBytes: string | undefined;
}

function positiveInt(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
}

export function readCliEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  return Object.freeze({
    store: env.MAESTRO_STORE || DEFAULT_STORE_URL,
    owner: env.MAESTRO_OWNER || undefined,
    leaseMs: positiveInt(env.MAESTRO_LEASE_MS),
    pollMs: positiveInt(env.MAESTRO_POLL_MS),
    handlersModule: env.MAESTRO_HANDLERS || undefined,
    tokensFile: env.MAESTRO_TOKENS_FILE || undefined,
    hooksConfig: env.MAESTRO_HOOKS_CONFIG || undefined,
    storeOutageMs: positiveInt(env.MAESTRO_STORE_OUTAGE_MS) ?? 60_000,
    traced: tracingRequested(env),
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
    secrets: env.MAESTRO_SECRETS || 'env',
    execInheritEnv: env.MAESTRO_EXEC_INHERIT_ENV === '1' || env.MAESTRO_EXEC_INHERIT_ENV === 'true',
    allowKinds: env.MAESTRO_ALLOW_KINDS || undefined,
    logLevel: env.MAESTRO_LOG_LEVEL || 'info',
    sandbox: env.MAESTRO_SANDBOX === 'on' || env.MAESTRO_SANDBOX === 'off' ? env.MAESTRO_SANDBOX : 'auto',
    scheduleMinInterval: env.MAESTRO_SCHEDULE_MIN_INTERVAL || undefined,
    labels: env.MAESTRO_LABELS || undefined,
    maxArtifactBytes: env.MAESTRO_MAX_ARTIFACT_BYTES || undefined,
    maxLogBytes: env.MAESTRO_MAX_LOG_BYTES || undefined,
  });
}
