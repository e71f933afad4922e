import { createPublicKey } from 'node:crypto';
import { describeJsonFileError } from '../../domain/json-file-error.js';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { MaestroError } from '../../domain/errors.js';
import { digestFile } from '../../domain/file-digest.js';
import { type DsseEnvelope, IN_TOTO_PAYLOAD_TYPE, verifyEnvelope } from './dsse.js';
import { STATEMENT_TYPE } from './provenance-statement.js';

function invalid(message: string, details: Record<string, unknown> = {}): MaestroError {
  return new MaestroError('ATTESTATION_INVALID', message, { details });
}

/**
 * Checks an attestation envelope: the signature with the public key, then every subject's sha256 against the
 * file on disk (relative names resolve against `baseDir`). Throws ATTESTATION_INVALID saying what failed.
 */
export async function verifyAttestation(
  envelopePath: string,
  publicKeyPath: string,
  baseDir: string,
): Promise<{ subjects: number; run_id: string }> {
  let envelope: DsseEnvelope;
  try {
    envelope = JSON.parse(readFileSync(envelopePath, 'utf8')) as DsseEnvelope;
  } catch (error) {
    throw invalid(`${envelopePath} is not a DSSE envelope: it ${describeJsonFileError(error)}`);
  }
  if (
    envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE ||
    typeof envelope.payload !== 'string' ||
    !Array.isArray(envelope.signatures)
  ) {
    throw invalid(`${envelopePath} is not an in-toto DSSE envelope`);
  }
  const publicKey = createPublicKey(readFileSync(publicKeyPath));
  if (!verifyEnvelope(envelope, publicKey))
    throw invalid('the signature does not verify with this key (the envelope was changed, or signed by another key)');
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    _type: string;
    subject: Array<{ name: string; digest: { sha256: string } }>;
    predicate: { runDetails: { metadata: { invocationId: string } } };
  };
  if (statement._type !== STATEMENT_TYPE) throw invalid(`payload is not an in-toto Statement v1 (${statement._type})`);
  for (const subject of statement.subject) {
    const path = isAbsolute(subject.name) ? subject.name : join(baseDir, subject.name);
    let actual: string;
    try {
      actual = (await digestFile(path)).sha256;
    } catch {
      throw invalid(`subject ${subject.name} is missing at ${path}`, { subject: subject.name });
    }
    if (actual !== subject.digest.sha256)
      throw invalid(`subject ${subject.name} does not match its digest: the file changed`, {
        subject: subject.name,
        expected: subject.digest.sha256,
        got: actual,
      });
  }
  return { subjects: statement.subject.length, run_id: statement.predicate.runDetails.metadata.invocationId };
}
