import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { MaestroError } from '../../domain/errors.js';

// Loopback, private, link-local, CGNAT, unspecified and multicast ranges: never reached unless a host is allowed.
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

function isBlockedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  return blocked.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Checks one URL an http step is about to fetch: http(s) only, and unless its host is allowed, every address
 * it resolves to must be public. Called for the first URL and again for every redirect.
 */
export async function assertFetchable(rawUrl: string, allowHosts: readonly string[]): Promise<URL> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new MaestroError('URL_FORBIDDEN', `"${rawUrl}" is not a URL`, { retryable: false, details: { path: '$.with.url', got: rawUrl } });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MaestroError('URL_FORBIDDEN', `scheme ${url.protocol} is not allowed (http and https only)`, {
      retryable: false,
      details: { path: '$.with.url', expected: 'an http or https URL', got: url.protocol },
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (allowHosts.includes(host)) return url;
  const addresses = isIP(host) ? [{ address: host }] : await lookup(host, { all: true, verbatim: true }).catch(() => []);
  if (addresses.length === 0) throw new MaestroError('STEP_FAILED', `cannot resolve ${host}`, { details: { host } });
  const denied = addresses.find((entry) => isBlockedAddress(entry.address));
  if (denied) {
    throw new MaestroError('URL_FORBIDDEN', `${host} resolves to ${denied.address}, a private or link-local address; add it to with.allow_hosts to allow it`, {
      retryable: false,
      details: { path: '$.with.url', got: denied.address },
    });
  }
  return url;
}
