import { join, resolve } from 'node:path';
import { MaestroError } from '../domain/errors.js';
import { defineOwn } from '../domain/own-property.js';
import type { EngineServices } from './engine-services.js';
import { isBubblewrapAvailable, type SandboxMode } from './executors/exec-sandbox.js';
import { SECRET_ENV_PREFIX } from './secrets/secret-provider.js';

/** What every exec step gets from the runner's environment by default. */
export const MINIMAL_EXEC_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const;

/**
 * The environment exec steps start from. Minimal by default: a step sees no runner variable it was not given.
 * Secrets never pass, even when inheriting.
 */
export function execEnvironmentOf(
  environment: NodeJS.ProcessEnv,
  inherit: boolean,
): (passthrough: readonly string[]) => Record<string, string> {
  return (passthrough) => {
    const env: Record<string, string> = {};
    const names = inherit ? Object.keys(environment) : [...MINIMAL_EXEC_ENV, ...passthrough];
    for (const name of names) {
      const value = environment[name];
      if (value !== undefined && !name.startsWith(SECRET_ENV_PREFIX)) defineOwn(env, name, value);
    }
    return env;
  };
}

/**
 * The sandbox layout of a runner, or undefined when exec steps run without one. `auto` probes for bubblewrap only
 * when the first exec step asks (a command that runs none, like `validate`, never starts it); `on` checks at once.
 */
export function sandboxOf(
  mode: SandboxMode,
  workspace: string,
  hiddenPaths: readonly string[],
): EngineServices['sandbox'] {
  if (mode === 'on' && !isBubblewrapAvailable())
    throw new MaestroError('CONFIG_INVALID', 'the exec sandbox is on but bwrap (bubblewrap) is not installed', {
      details: { path: 'sandbox', expected: 'bwrap on PATH, or sandbox auto/off' },
    });
  const state = join(workspace, '.maestro');
  const layout = {
    readOnly: [state],
    hidden: [join(state, 'store'), join(state, 'keys'), ...hiddenPaths.map((path) => resolve(path))],
  };
  return () => (mode !== 'off' && isBubblewrapAvailable() ? layout : undefined);
}
