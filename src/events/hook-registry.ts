import { MaestroError } from '../domain/errors.js';
import type { ProvenanceHook } from './hook-api.js';

/**
 * The hooks a runner knows, by name. `always` hooks receive every run's events; the others only those of runs
 * whose plan names them in `"hooks"`.
 */
export class HookRegistry {
  private readonly hooks = new Map<string, ProvenanceHook>();
  private readonly always = new Set<string>();

  register(hook: ProvenanceHook, options: { always?: boolean } = {}): this {
    this.hooks.set(hook.name, hook);
    if (options.always) this.always.add(hook.name);
    return this;
  }

  markAlways(name: string): void {
    this.always.add(name);
  }

  has(name: string): boolean {
    return this.hooks.has(name);
  }

  names(): string[] {
    return [...this.hooks.keys()].sort();
  }

  /** The hooks of a run of a plan naming `planHooks`, always-hooks first, each once. */
  hooksFor(planHooks: readonly string[]): ProvenanceHook[] {
    const names = [...new Set([...this.always, ...planHooks])];
    return names.map((name) => {
      const hook = this.hooks.get(name);
      if (!hook)
        throw new MaestroError('PLAN_INVALID', `unknown hook "${name}"`, {
          details: { path: '$.hooks', expected: `one of ${this.names().join(', ')}` },
        });
      return hook;
    });
  }
}
