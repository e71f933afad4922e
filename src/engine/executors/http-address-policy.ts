import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { MaestroError } from '../../domain/errors.js';

// Loopback, private, link-local, CGNAT, unspecified, multicast, documentation, benchmark and reserved ranges:
// never reached unless a host is allowed.
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** An IPv6 address as 8 groups, or undefined when it is not one (`::`, a dotted IPv4 tail, zone ids handled). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.split('%')[0]!.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const bytes = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, -dotted[1]!.length)}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? left.length !== 8 : missing < 0) return undefined;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((g) =>
    Number.parseInt(g, 16),
  );
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** Within 64:ff9b::/32: the well-known NAT64 prefix (/96, RFC 6052) and the local-use one (64:ff9b:1::/48, RFC 8215). */
function isNat64Range(g: number[]): boolean {
  return g[0] === 0x64 && g[1] === 0xff9b;
}

/**
 * The IPv4 address an IPv6 one carries: IPv4-mapped (::ffff:0:0/96), IPv4-translated (SIIT, ::ffff:0:0:0/96),
 * IPv4-compatible (::/96), and NAT64 in the /96 form of the well-known (64:ff9b::/96) or local-use prefix.
 */
function embeddedIpv4(g: number[]): string | undefined {
  const firstFour = g.slice(0, 4).every((x) => x === 0);
  const mapped = firstFour && g[4] === 0 && g[5] === 0xffff;
  const translated = firstFour && g[4] === 0xffff && g[5] === 0;
  const compatible = firstFour && g[4] === 0 && g[5] === 0 && (g[6] !== 0 || g[7]! > 1);
  const nat64 = isNat64Range(g) && (g[2] === 0 || g[2] === 1) && g.slice(3, 6).every((x) => x === 0);
  if (!mapped && !translated && !compatible && !nat64) return undefined;
  return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.');
}

export function isBlockedAddress(address: string): boolean {
  if (isIP(address) === 4) return blocked.check(address, 'ipv4');
  const groups = ipv6Groups(address);
  const inner = groups && embeddedIpv4(groups);
  if (inner) return blocked.check(inner, 'ipv4');
  // Any other form in 64:ff9b::/32: the local-use prefix used as a /48, /56 or /64 puts the IPv4 bits elsewhere
  // (RFC 6052 2.2), where only the local translator knows, so it is refused.
  if (groups && isNat64Range(groups)) return true;
  return blocked.check(address.split('%')[0]!, 'ipv6');
}

/** A URL that passed the policy, and the address to connect to: the one that was checked, never resolved again. */
export interface FetchTarget {
  url: URL;
  /** Undefined for an allowed host: it is resolved as usual. */
  address?: { address: string; family: 4 | 6 };
}

/**
 * Checks one URL an http step is about to fetch: http(s) only, and unless its host is allowed, every address it
 * resolves to must be public. The caller connects to the returned address (no second lookup a DNS answer could
 * change: no rebinding window). Called for the first URL and again for every redirect.
 */
export async function checkFetchTarget(rawUrl: string, allowHosts: readonly string[]): Promise<FetchTarget> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new MaestroError('URL_FORBIDDEN', `"${rawUrl}" is not a URL`, {
      retryable: false,
      details: { path: '$.with.url', got: rawUrl },
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MaestroError('URL_FORBIDDEN', `scheme ${url.protocol} is not allowed (http and https only)`, {
      retryable: false,
      details: { path: '$.with.url', expected: 'an http or https URL', got: url.protocol },
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (allowHosts.includes(host)) return { url };
  const addresses: Array<{ address: string; family: number }> = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await lookup(host, { all: true, verbatim: true }).catch(() => []);
  if (addresses.length === 0) throw new MaestroError('STEP_FAILED', `cannot resolve ${host}`, { details: { host } });
  const denied = addresses.find((entry) => isBlockedAddress(entry.address));
  if (denied) {
    throw new MaestroError(
      'URL_FORBIDDEN',
      `${host} resolves to ${denied.address}, a private, reserved or link-local address; add it to with.allow_hosts to allow it`,
      {
        retryable: false,
        details: { path: '$.with.url', got: denied.address },
      },
    );
  }
  return { url, address: { address: addresses[0]!.address, family: addresses[0]!.family === 6 ? 6 : 4 } };
}
