import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Engine } from '../engine/engine.js';
import type { KindPolicy } from '../engine/kind-policy.js';
import { applyHooksConfigFile } from '../hooks/hooks-config.js';
import { openSecretProvider } from './open-secret-provider.js';
import { MaestroError } from '../domain/errors.js';
import { openStore } from '../store/open.js';
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
}

/**
 * Opens the store and an engine for one CLI command. A handlers module (workflow-as-code) exports
 * `register(engine)` (or a default function) that registers handlers, executors and hooks; a hooks config file
 * configures hooks (see src/hooks/hooks-config.ts).
 */
export async function openCliEngine(options: CliEngineOptions): Promise<{ engine: Engine; store: RunStore; close(): Promise<void> }> {
  const secrets = await openSecretProvider(options.secrets ?? 'env');
  const store = await openStore(options.store, {
    ...(options.storeOutageMs
      ? {
          outage: {
            limitMs: options.storeOutageMs,
            onRetry: (error, attempt, delayMs) => process.stderr.write(`maestro: store unavailable (${error.message.split('\n')[0]}); retry ${attempt} in ${delayMs} ms\n`),
          },
        }
      : {}),
  });
  const engine = new Engine({
    store,
    ...(options.owner ? { defaultOwner: options.owner } : {}),
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    secrets,
    environment: process.env,
    inheritEnvironment: options.execInheritEnv ?? false,
    ...(options.allowKinds ? { allowKinds: options.allowKinds } : {}),
    sandbox: options.sandbox ?? 'auto',
    hiddenPaths: runnerFilesToHide(options),
  });
  try {
    if (options.hooksConfig) await applyHooksConfigFile(engine.hooks, options.hooksConfig);
    if (options.handlersModule) await loadHandlers(engine, options.handlersModule);
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

/** What exec steps must not read, besides the workspace's store and keys: a store or secrets file elsewhere. */
export function runnerFilesToHide(options: { store: string; secrets?: string | undefined }): string[] {
  const hidden: string[] = [];
  if (options.store.startsWith('nedb://')) hidden.push(resolve(options.store.slice('nedb://'.length)));
  if (options.secrets?.startsWith('file:')) hidden.push(resolve(options.secrets.slice('file:'.length)));
  return hidden;
}

async function loadHandlers(engine: Engine, modulePath: string): Promise<void> {
  const module = (await import(pathToFileURL(resolve(modulePath)).href)) as { register?: unknown; default?: unknown };
  const register = typeof module.register === 'function' ? module.register : module.default;
  if (typeof register !== 'function') {
    throw new MaestroError('CONFIG_INVALID', `${modulePath} must export register(engine) or a default function`, { details: { path: '--handlers' } });
  }
  await (register as (engine: Engine) => unknown)(engine);
}
