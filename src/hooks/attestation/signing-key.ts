import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MaestroError } from '../../domain/errors.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Where the public key is, for `maestro verify --key`. */
  publicKeyPath: string;
}

/**
 * The Ed25519 key that signs attestations: a PEM (PKCS#8) file when given, else `<workspace>/.maestro/keys/`,
 * generated there on first use (private key readable by its owner only).
 */
export function loadSigningKey(workspace: string, keyFile?: string): SigningKey {
  const privatePath = keyFile ?? join(workspace, '.maestro', 'keys', 'attestation-ed25519.pem');
  const publicPath = privatePath.replace(/(\.pem)?$/, '.pub.pem');
  if (!existsSync(privatePath)) {
    if (keyFile)
      throw new MaestroError('CONFIG_INVALID', `attestation key ${keyFile} does not exist`, {
        details: { path: 'key_file' },
      });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    mkdirSync(dirname(privatePath), { recursive: true, mode: 0o700 });
    writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  const privateKey = createPrivateKey(readFileSync(privatePath));
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new MaestroError('CONFIG_INVALID', `attestation key ${privatePath} is not an Ed25519 key`, {
      details: { path: 'key_file' },
    });
  const publicKey = createPublicKey(privateKey);
  if (!existsSync(publicPath)) writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey, publicKeyPath: publicPath };
}
