import { createHash, sign, verify, type KeyObject } from 'node:crypto';

/** A DSSE envelope (https://github.com/secure-systems-lab/dsse). */
export interface DsseEnvelope {
  payloadType: string;
  /** base64 of the payload bytes. */
  payload: string;
  signatures: Array<{ keyid: string; sig: string }>;
}

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** DSSE pre-authentication encoding: what is actually signed. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** A key id: sha256 of the public key's SubjectPublicKeyInfo. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function signEnvelope(
  payloadType: string,
  payload: Buffer,
  privateKey: KeyObject,
  publicKey: KeyObject,
): DsseEnvelope {
  const sig = sign(null, preAuthEncoding(payloadType, payload), privateKey);
  return {
    payloadType,
    payload: payload.toString('base64'),
    signatures: [{ keyid: keyIdOf(publicKey), sig: sig.toString('base64') }],
  };
}

/** True when one signature of the envelope verifies with the key (Ed25519 over the PAE). */
export function verifyEnvelope(envelope: DsseEnvelope, publicKey: KeyObject): boolean {
  const payload = Buffer.from(envelope.payload, 'base64');
  const message = preAuthEncoding(envelope.payloadType, payload);
  return envelope.signatures.some((signature) => {
    try {
      return verify(null, message, publicKey, Buffer.from(signature.sig, 'base64'));
    } catch {
      return false;
    }
  });
}
