import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EngineOptions } from '../engine/engine.js';
import { Engine } from '../maestro-engine.js';
import { allKinds, type KindPolicy } from '../engine/trust/kind-policy.js';
import { applyHooksConfigFile } from '../hooks/hooks-config.js';
import { hooksConfigFiles } from '../hooks/hooks-config-files.js';
import { openSecretProvider } from './open-secret-provider.js';
import { allowOpenStoreFromEnv, refuseExecBesideOpenStore } from './open-store-guard.js';
import { readCliEnvironment } from './cli-environment.js';
import { schedulerClock } from './scheduler-clock.js';
import { MaestroError } from '../domain/errors.js';
import type { Telemetry } from '../domain/telemetry.js';
import { openStore, parseStoreUrl } from '../store/open.js';
import type { RunStore } from '../store/port.js';

export interface CliEngineOptions {
  store: string;
  owner?: string | undefined;
  leaseMs?: number | undefined;
  pollMs?: number | undefined;
  handlersModule?: string | undefined;
  hooksConfig?: string | undefined;
  /** How long a store outage is waited out before commands fail (0: not at all). */
  storeOutageMs?: number | undefined;
  /** See CliEnvironment.secrets. */
  secrets?: string | undefined;
  execInheritEnv?: boolean | undefined;
  allowKinds?: KindPolicy | undefined;
  sandbox?: 'auto' | 'on' | 'off' | undefined;
  /** Metrics of this runner and its store (a worker with --metrics-port). */
  telemetry?: Telemetry | undefined;
  /** Store calls as spans (tracing is on). */
  traced?: boolean | undefined;
  /** The command only reads: it runs no steps. */
  readOnly?: boolean | undefined;
  /** Run exec steps even beside a MongoDB on this host that needs no credentials (--allow-open-store). */
  allowOpenStore?: boolean | undefined;
  /** How this runner shares steps with others: its labels, attempts at once, and whether it offers and takes. */
  sharing?: Pick<EngineOptions, 'labels' | 'concurrency' | 'shareSteps'> | undefined;
}

/**
 * Opens the store and an engine for one CLI command. A handlers module (workflow-as-code) exports
 * `register(engine)` (or a default function) that registers handlers, executors and hooks; a hooks config file
 * configures hooks (see src/hooks/hooks-config.ts).
 */
export async function openCliEngine(
  options: CliEngineOptions,
): Promise<{ engine: Engine; store: RunStore; close(): Promise<void> }> {
  const runner = await runnerEngineOptions({
    store: options.store,
    secrets: options.secrets ?? 'env',
    execInheritEnv: options.execInheritEnv ?? false,
    sandbox: options.sandbox ?? 'auto',
    hooksConfig: options.hooksConfig,
    // A command that may run steps runs them with the engine's default kinds (all) unless it says which.
    ...(options.readOnly ? {} : { allowKinds: options.allowKinds ?? allKinds() }),
    allowOpenStore: options.allowOpenStore ?? allowOpenStoreFromEnv(),
  });
  const store = await openStore(options.store, {
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...(options.traced ? { traced: true } : {}),
    ...(options.storeOutageMs
      ? {
          outage: {
            limitMs: options.storeOutageMs,
            onRetry: (error, attempt, delayMs) =>
              process.stderr.write(
                `maestro: store unavailable (${error.message.split('\n')[0]}); retry ${attempt} in ${delayMs} ms\n`,
              ),
          },
        }
      : {}),
  });
  let engine: Engine;
  try {
    // The engine refuses a sandbox layout that would hide the workspace: the store opened for it is closed again.
    engine = new Engine({
      store,
      ...(options.owner ? { defaultOwner: options.owner } : {}),
      ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
      ...runner,
      ...(options.allowKinds ? { allowKinds: options.allowKinds } : {}),
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      ...options.sharing,
      schedulerNow: schedulerClock(),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  try {
    await configureEngine(engine, options);
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    engine,
    store,
    async close() {
      engine.close();
      await store.close();
    },
  };
}

/** Applies what a command line names for an engine: its hooks config, then its handlers module. */
export async function configureEngine(
  engine: Engine,
  options: { hooksConfig?: string | undefined; handlersModule?: string | undefined },
): Promise<void> {
  if (options.hooksConfig) await applyHooksConfigFile(engine.hooks, options.hooksConfig);
  if (options.handlersModule) await loadHandlers(engine, options.handlersModule);
}

/**
 * What every runner the CLI starts (`maestro-run`, `maestro worker`, `maestro serve`) takes from its configuration:
 * the secret provider, the exec environment, the sandbox, and the files steps must not see besides the workspace's
 * store and keys — a SQLite store file or a secrets file elsewhere, the hooks config and the keys it names, and whatever
 * the caller adds (the tokens file).
 */
export async function runnerEngineOptions(
  config: {
    store: string;
    secrets: string;
    execInheritEnv: boolean;
    sandbox: 'auto' | 'on' | 'off';
    hooksConfig?: string | undefined;
    /** The kinds this runner executes: one that runs exec beside a store open to the host is refused. */
    allowKinds?: KindPolicy | undefined;
    allowOpenStore?: boolean | undefined;
  },
  alsoHidden: readonly string[] = [],
): Promise<
  Pick<
    EngineOptions,
    'secrets' | 'environment' | 'inheritEnvironment' | 'sandbox' | 'hiddenPaths' | 'maxArtifactBytes' | 'maxLogBytes'
  >
> {
  const store = parseStoreUrl(config.store);
  const maxArtifactBytes = byteCount(readCliEnvironment().maxArtifactBytes, 'MAESTRO_MAX_ARTIFACT_BYTES');
  const maxLogBytes = byteCount(readCliEnvironment().maxLogBytes, 'MAESTRO_MAX_LOG_BYTES');
  if (config.allowKinds)
    refuseExecBesideOpenStore({
      storeUrl: config.store,
      allowKinds: config.allowKinds,
      allowOpenStore: config.allowOpenStore ?? allowOpenStoreFromEnv(),
      warn: (message) => process.stderr.write(message),
    });
  const hidden = [...alsoHidden, ...(config.hooksConfig ? hooksConfigFiles(config.hooksConfig) : [])];
  // The database and the files SQLite keeps beside it.
  if (store.kind === 'sqlite' && !store.inMemory)
    hidden.push(...['', '-wal', '-shm', '-journal'].map((suffix) => `${store.file}${suffix}`));
  if (config.secrets.startsWith('file:')) hidden.push(resolve(config.secrets.slice('file:'.length)));
  return {
    secrets: await openSecretProvider(config.secrets),
    environment: withoutStoreCredentials(process.env, config.store),
    inheritEnvironment: config.execInheritEnv,
    sandbox: config.sandbox,
    hiddenPaths: hidden,
    ...(maxArtifactBytes === undefined ? {} : { maxArtifactBytes }),
    ...(maxLogBytes === undefined ? {} : { maxLogBytes }),
  };
}

/** A size in bytes from the environment: a whole number from 1, refused naming the variable otherwise. */
function byteCount(value: string | undefined, variable: string): number | undefined {
  if (value === undefined) return undefined;
  const bytes = /^[0-9]{1,16}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new MaestroError('CONFIG_INVALID', `${variable} must be a whole number of bytes of at least 1`, {
      details: { path: variable, got: value, expected: 'an integer >= 1' },
    });
  return bytes;
}

/**
 * The runner's environment less every variable that carries the store's URL or the secret part of it (a
 * `user:password@`), whatever its name: exec steps start from this, so the store's credentials never reach one.
 */
function withoutStoreCredentials(env: NodeJS.ProcessEnv, storeUrl: string): NodeJS.ProcessEnv {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]+)@/i.exec(storeUrl)?.[1];
  const password = userinfo?.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : '';
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // kept as written
  }
  // A password too short to be told from ordinary text (PATH would go) is caught as part of user:password.
  const secrets = [storeUrl, userinfo ?? '', ...[password, decoded].filter((form) => form.length >= 8)];
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || secrets.some((secret) => secret !== '' && value.includes(secret))) continue;
    kept[name] = value;
  }
  return kept;
}

async function loadHandlers(engine: Engine, modulePath: string): Promise<void> {
  const module = (await import(pathToFileURL(resolve(modulePath)).href)) as { register?: unknown; default?: unknown };
  const register = typeof module.register === 'function' ? module.register : module.default;
  if (typeof register !== 'function') {
    throw new MaestroError('CONFIG_INVALID', `${modulePath} must export register(engine) or a default function`, {
      details: { path: '--handlers' },
    });
  }
  await (register as (engine: Engine) => unknown)(engine);
}
