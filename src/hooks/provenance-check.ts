import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import type { ProvenanceCheck, RunDocument } from '../generated/schemas.js';
import { verifyAttestation } from './attestation/verify-attestation.js';
import { verifyLedgerManifest, type LedgerManifest } from './claim-ledger/ledger-manifest.js';

/**
 * What `maestro ledger verify` and `maestro verify` would say of a run, checked in a runner's workspace: each ledger
 * manifest the run records (only files under the workspace are opened), and the attestation the built-in hook
 * writes, verified with the workspace's public key when it is there.
 */
export async function checkRunProvenance(run: RunDocument, workspace: string): Promise<ProvenanceCheck> {
  const manifests = run.provenance.claim_ledger_manifest_paths.map((path) => {
    if (!insideWorkspace(path, workspace)) return { path, valid: false, error: 'not a file under the workspace' };
    try {
      const result = verifyLedgerManifest(JSON.parse(readFileSync(path, 'utf8')) as LedgerManifest);
      return { path, manifest_id: result.manifest_id, valid: true };
    } catch (error) {
      return { path, valid: false, error: error instanceof Error ? error.message : String(error) };
    }
  });
  const envelope = join(workspace, '.maestro', 'attestations', `${run.run_id}.dsse.json`);
  if (!existsSync(envelope)) return { manifests };
  const publicKey = join(workspace, '.maestro', 'keys', 'attestation-ed25519.pub.pem');
  if (!existsSync(publicKey)) return { manifests, attestation: { path: envelope } };
  try {
    const { subjects } = await verifyAttestation(envelope, publicKey, workspace);
    return { manifests, attestation: { path: envelope, valid: true, subjects } };
  } catch (error) {
    return {
      manifests,
      attestation: { path: envelope, valid: false, error: error instanceof Error ? error.message : String(error) },
    };
  }
}

function insideWorkspace(path: string, workspace: string): boolean {
  try {
    const rel = relative(realpathSync(workspace), realpathSync(path));
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  } catch {
    return false;
  }
}
