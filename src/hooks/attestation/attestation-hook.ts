import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HookHandler, ProvenanceHook } from '../../events/hook-api.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from './dsse.js';
import { buildProvenanceStatement } from './provenance-statement.js';
import { loadSigningKey } from './signing-key.js';

export interface AttestationOptions {
  /** PEM (PKCS#8) Ed25519 private key; default: generated into `<workspace>/.maestro/keys/` on first use. */
  key_file?: string;
  /** Default `<workspace>/.maestro/attestations`. */
  directory?: string;
}

/**
 * The built-in `attestation` hook: when a run ends, a DSSE envelope (Ed25519) around an in-toto Statement whose
 * subjects are the run's artifacts, with a SLSA Provenance v1 predicate. `maestro verify` checks it.
 */
export function attestationHook(options: AttestationOptions = {}): ProvenanceHook {
  const onRunEnd: HookHandler = async (event, context) => {
    const detail = await context.getRunDetail(event.run_id);
    if (!detail) return;
    const key = loadSigningKey(context.workspace, options.key_file);
    const statement = buildProvenanceStatement(detail, context.workspace, context.runnerId);
    const envelope = signEnvelope(
      IN_TOTO_PAYLOAD_TYPE,
      Buffer.from(JSON.stringify(statement), 'utf8'),
      key.privateKey,
      key.publicKey,
    );
    const directory = options.directory ?? join(context.workspace, '.maestro', 'attestations');
    await mkdir(directory, { recursive: true });
    const path = join(directory, `${event.run_id}.dsse.json`);
    await writeFile(`${path}.tmp`, `${JSON.stringify(envelope, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  };
  return { name: 'attestation', on: { 'run.succeeded': onRunEnd, 'run.failed': onRunEnd, 'run.cancelled': onRunEnd } };
}
