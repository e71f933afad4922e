import { readFileSync } from 'node:fs';
import { describeJsonFileError } from '../domain/json-file-error.js';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MaestroError } from '../domain/errors.js';
import type { HookFactory, ProvenanceHook } from '../events/hook-api.js';
import { builtinHooks } from './builtin-hooks.js';
import type { HookRegistry } from '../events/hook-registry.js';

/**
 * A hooks config file:
 * `{"always": ["claim-ledger"], "hooks": {"openlineage": {"transport": {...}}, "audit": {"module": "./audit.mjs", "options": {}}}}`.
 * Built-in names take their options directly; other names load a module exporting `createHook(options)`
 * (or a default factory). Module paths are relative to the config file.
 */
export interface HooksConfig {
  always?: string[];
  hooks?: Record<string, Record<string, unknown> | null>;
}

function configError(path: string, message: string, field: string): MaestroError {
  return new MaestroError('CONFIG_INVALID', `hooks config ${path}: ${message}`, {
    details: { path: field, file: path },
  });
}

export async function applyHooksConfigFile(registry: HookRegistry, path: string): Promise<void> {
  let config: HooksConfig;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as HooksConfig;
  } catch (error) {
    throw configError(path, describeJsonFileError(error), '$');
  }
  const always = new Set(config.always ?? []);
  for (const [name, entry] of Object.entries(config.hooks ?? {})) {
    if (!entry || typeof entry !== 'object')
      throw configError(path, `$.hooks.${name} must be an object`, `$.hooks.${name}`);
    let hook: ProvenanceHook;
    if (typeof entry.module === 'string') {
      const module = (await import(pathToFileURL(resolve(dirname(path), entry.module)).href)) as {
        createHook?: HookFactory;
        default?: HookFactory;
      };
      const factory = module.createHook ?? module.default;
      if (typeof factory !== 'function')
        throw configError(path, `${entry.module} must export createHook(options)`, `$.hooks.${name}.module`);
      hook = { ...factory((entry.options as Record<string, unknown> | undefined) ?? {}), name };
    } else if (builtinHooks[name]) {
      hook = builtinHooks[name](entry);
    } else {
      throw configError(path, `"${name}" is not a built-in hook and has no "module"`, `$.hooks.${name}`);
    }
    registry.register(hook, { always: always.has(name) });
    always.delete(name);
  }
  for (const name of always) {
    if (!registry.has(name)) throw configError(path, `always names unknown hook "${name}"`, '$.always');
    registry.markAlways(name);
  }
}
