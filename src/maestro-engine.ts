// A composition root: the engine as the CLI, the API server and the library give it to users.
import { Engine as CoreEngine, type EngineOptions } from './engine/engine.js';
import { registerBuiltinHooks } from './hooks/builtin-hooks.js';

/**
 * The engine with the built-in provenance hooks (`claim-ledger`, `openlineage`, `attestation`) registered, so a
 * plan can name them. The core engine knows only the hook API; which hooks exist is decided here.
 */
export class Engine extends CoreEngine {
  constructor(options: EngineOptions) {
    super(options);
    registerBuiltinHooks(this.hooks);
  }
}
