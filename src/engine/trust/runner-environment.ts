import { isAbsolute, join, relative, resolve } from 'node:path';
import { MaestroError } from '../../domain/errors.js';
import { defineOwn } from '../../domain/own-property.js';
import type { EngineServices } from '../engine-services.js';
import { isBubblewrapAvailable, sandboxUser, type SandboxMode } from '../executors/exec-sandbox.js';
import { grantWorkspaceTo } from '../executors/step-workspace-access.js';
import { SECRET_ENV_PREFIX } from '../secrets/secret-provider.js';

/** What every exec step gets from the runner's environment by default. */
export const MINIMAL_EXEC_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const;

/** The store's URL (and so its credentials) never reaches a step, whatever the runner's environment passes. */
const STORE_ENV = 'MAESTRO_STORE';

/**
 * The environment exec steps start from. Minimal by default: a step sees no runner variable it was not given.
 * Secrets never pass, even when inheriting, nor MAESTRO_STORE.
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
      if (value === undefined || name.startsWith(SECRET_ENV_PREFIX) || name === STORE_ENV) continue;
      defineOwn(env, name, value);
    }
    return env;
  };
}

/**
 * The sandbox layout of a runner, or undefined when exec steps run without one. `auto` probes for bubblewrap only
 * when the first exec step asks (a command that runs none, like `validate`, never starts it); `on` checks at once.
 * A step sees nothing of the workspace's .maestro (logs, attestations, ledgers, keys, an embedded store) nor any
 * file the runner's configuration names; a root runner's steps run as an unprivileged user, granted the workspace
 * when the first of them runs.
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
  const root = resolve(workspace);
  const hidden = [join(root, '.maestro'), ...hiddenPaths.map((path) => resolve(path))];
  if (mode !== 'off') for (const path of hidden) refuseHidingWorkspace(root, path);
  const layout = { readOnly: [], hidden };
  let granted = false;
  return () => {
    if (mode === 'off' || !isBubblewrapAvailable()) return undefined;
    const user = sandboxUser();
    if (user && !granted) {
      grantWorkspaceTo(user.uid, root, hidden);
      granted = true;
    }
    return layout;
  };
}

/** A hidden directory that is the workspace or holds it would leave steps no workspace: refused at start. */
function refuseHidingWorkspace(workspace: string, hidden: string): void {
  const rel = relative(hidden, workspace);
  if (rel.startsWith('..') || isAbsolute(rel)) return;
  throw new MaestroError(
    'CONFIG_INVALID',
    `${hidden} must stay hidden from exec steps but ${rel === '' ? 'is' : 'holds'} the workspace ${workspace}: ` +
      'put the store, tokens and secrets outside the workspace or in its .maestro',
    { details: { path: 'store', got: hidden, expected: 'a directory that does not hold the workspace' } },
  );
}
