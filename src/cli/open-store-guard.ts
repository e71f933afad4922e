import { hostname, networkInterfaces } from 'node:os';
import { MaestroError } from '../domain/errors.js';
import type { KindPolicy } from '../engine/trust/kind-policy.js';

/** The flag and environment variable that let a runner run exec steps beside a store anyone on the host can open. */
export const ALLOW_OPEN_STORE_FLAG = '--allow-open-store';
export const ALLOW_OPEN_STORE_ENV = 'MAESTRO_ALLOW_OPEN_STORE';

export function allowOpenStoreFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[ALLOW_OPEN_STORE_ENV] === '1' || env[ALLOW_OPEN_STORE_ENV] === 'true';
}

/** Names and addresses that reach this host: loopback, unspecified, the host's name and its interfaces. */
function isThisHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (name === 'localhost' || name.endsWith('.localhost') || name === hostname().toLowerCase()) return true;
  if (/^127\./.test(name) || name === '::1' || name === '0.0.0.0' || name === '::' || name === '') return true;
  if (/^::ffff:127\./.test(name) || name.includes('%2f') || name.startsWith('/')) return true; // unix socket
  return Object.values(networkInterfaces()).some((addresses) =>
    (addresses ?? []).some((address) => address.address.toLowerCase() === name),
  );
}

/**
 * Whether a store URL is a MongoDB on this host that asks for no credentials: no user in the URL and no
 * certificate named (X.509). Undefined when the store is something else (an embedded store is files, which the
 * sandbox hides from steps).
 */
export function openLocalStore(url: string): { hosts: string[] } | undefined {
  const match = /^mongodb:\/\/([^/?]*)(?:[/?].*)?$/.exec(url);
  if (!match) return undefined;
  const authority = match[1]!;
  if (authority.includes('@')) return undefined;
  const query = url.includes('?') ? new URLSearchParams(url.slice(url.indexOf('?') + 1)) : new URLSearchParams();
  if (query.get('authMechanism') || query.get('tlsCertificateKeyFile')) return undefined;
  const hosts = authority.split(',').map((entry) => entry.replace(/:\d+$/, ''));
  return hosts.some(isThisHost) ? { hosts } : undefined;
}

/**
 * A runner that would execute `exec` steps next to a MongoDB on this host that needs no credentials: a step can
 * open the store itself and change anyone's runs. Refused unless the operator says otherwise; said on stderr
 * either way.
 */
export function refuseExecBesideOpenStore(options: {
  storeUrl: string;
  allowKinds: KindPolicy;
  allowOpenStore: boolean;
  warn: (message: string) => void;
}): void {
  if (!options.allowKinds.allows('exec')) return;
  const open = openLocalStore(options.storeUrl);
  if (!open) return;
  const what =
    `the store (MongoDB on ${open.hosts.join(', ')}) is on this host and needs no credentials, and this runner ` +
    'runs exec steps: a step could connect to it and change any run';
  if (options.allowOpenStore) {
    options.warn(`maestro: warning: ${what} (allowed by ${ALLOW_OPEN_STORE_FLAG} or ${ALLOW_OPEN_STORE_ENV}=1)\n`);
    return;
  }
  throw new MaestroError(
    'CONFIG_INVALID',
    `${what}. Give the store a user and password, run exec steps elsewhere (--allow-kinds without exec), or ` +
      `accept it with ${ALLOW_OPEN_STORE_FLAG} or ${ALLOW_OPEN_STORE_ENV}=1`,
    { details: { path: '--store', expected: 'a store that needs credentials, or no exec steps on this runner' } },
  );
}
