import type { ProvenanceHook } from '../events/hook-api.js';
import type { HookRegistry } from '../events/hook-registry.js';
import { attestationHook } from './attestation/attestation-hook.js';
import { claimLedgerHook } from './claim-ledger/claim-ledger-hook.js';
import { openLineageHook } from './openlineage/openlineage-hook.js';

/** The built-in hooks by name, each built from its options (config file) or defaults. */
export const builtinHooks: Record<string, (options: Record<string, unknown>) => ProvenanceHook> = {
  'claim-ledger': (options) => claimLedgerHook(options),
  openlineage: (options) => openLineageHook(options),
  attestation: (options) => attestationHook(options),
};

/** Registers every built-in hook with its defaults (a hooks config file may replace them with configured ones). */
export function registerBuiltinHooks(registry: HookRegistry): void {
  for (const [name, create] of Object.entries(builtinHooks)) registry.register({ ...create({}), name });
}
