import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HookHandler, ProvenanceHook } from '../../events/hook-api.js';
import { buildLedgerManifest } from './ledger-manifest.js';

export interface ClaimLedgerOptions {
  /** Where manifests go; default `<workspace>/.maestro/ledger`. */
  directory?: string;
}

/**
 * The built-in `claim-ledger` hook: when a run ends, writes its hash-chained manifest (steps and artifact digests)
 * and hands back the manifest id and path for the run, and `<manifest_id>#<entry>` for each artifact.
 */
export function claimLedgerHook(options: ClaimLedgerOptions = {}): ProvenanceHook {
  const onRunEnd: HookHandler = async (event, context) => {
    const detail = await context.getRunDetail(event.run_id);
    if (!detail) return;
    const manifest = buildLedgerManifest(detail);
    const directory = options.directory ?? join(context.workspace, '.maestro', 'ledger');
    await mkdir(directory, { recursive: true });
    const path = join(directory, `${event.run_id}.json`);
    // Written whole then renamed: a reader never sees half a manifest.
    await writeFile(`${path}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
    return {
      run: { claim_ledger_manifest_ids: [manifest.manifest_id], claim_ledger_manifest_paths: [path] },
      artifacts: manifest.entries
        .filter((entry) => entry.kind === 'artifact')
        .map((entry) => ({ artifact_id: entry.ref, claim_ledger_ref: `${manifest.manifest_id}#${entry.index}` })),
    };
  };
  return { name: 'claim-ledger', on: { 'run.succeeded': onRunEnd, 'run.failed': onRunEnd, 'run.cancelled': onRunEnd } };
}
