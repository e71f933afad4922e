import { createHash, timingSafeEqual } from 'node:crypto';
import { describeJsonFileError } from '../domain/json-file-error.js';
import { readFileSync } from 'node:fs';
import { MaestroError } from '../domain/errors.js';

export const Role = { reader: 'reader', runner: 'runner', admin: 'admin' } as const;
export type Role = (typeof Role)[keyof typeof Role];

const rank: Record<Role, number> = { reader: 0, runner: 1, admin: 2 };

export interface Principal {
  owner: string;
  role: Role;
  /** Which configured token it is (its place in the list): the same however the header spells it. Not secret. */
  tokenId: string;
}

interface StoredToken extends Principal {
  /** sha256 of the token: the token itself is never kept. */
  hash: Buffer;
}

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Bearer tokens mapped to an owner and a role. Tokens are kept hashed and compared in constant time. */
export class TokenAuth {
  private readonly tokens: StoredToken[];

  /** Each entry gives the token, or only its sha256 (hex): a tokens file then holds nothing a reader could replay. */
  constructor(entries: ReadonlyArray<({ token: string } | { token_sha256: string }) & { owner: string; role: Role }>) {
    this.tokens = entries.map((entry, i) => ({
      hash: 'token' in entry ? hashToken(entry.token) : Buffer.from(entry.token_sha256, 'hex'),
      owner: entry.owner,
      role: entry.role,
      tokenId: `token-${i}`,
    }));
  }

  /** Reads `{"tokens": [{"token" or "token_sha256", "owner", "role"}]}`; a malformed file is CONFIG_INVALID naming the entry. */
  static fromFile(path: string): TokenAuth {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new MaestroError('CONFIG_INVALID', `tokens file ${path} ${describeJsonFileError(error)}`, {
        details: { path: '$' },
      });
    }
    const list = (parsed as { tokens?: unknown }).tokens;
    if (!Array.isArray(list))
      throw new MaestroError('CONFIG_INVALID', `tokens file ${path}: expected {"tokens": [...]}`, {
        details: { path: '$.tokens' },
      });
    list.forEach((entry: unknown, i) => {
      const e = (entry ?? {}) as Record<string, unknown>;
      if (typeof e.token_sha256 === 'string') {
        if (!/^[0-9a-f]{64}$/.test(e.token_sha256))
          throw new MaestroError(
            'CONFIG_INVALID',
            `tokens file ${path}: $.tokens[${i}].token_sha256 must be 64 lower-case hex digits`,
            { details: { path: `$.tokens[${i}].token_sha256` } },
          );
      } else if (typeof e.token !== 'string' || e.token.length < 16) {
        throw new MaestroError(
          'CONFIG_INVALID',
          `tokens file ${path}: $.tokens[${i}] needs token_sha256 (recommended) or a token of 16+ characters`,
          { details: { path: `$.tokens[${i}].token` } },
        );
      }
      if (typeof e.owner !== 'string' || e.owner === '')
        throw new MaestroError('CONFIG_INVALID', `tokens file ${path}: $.tokens[${i}].owner must be a string`, {
          details: { path: `$.tokens[${i}].owner` },
        });
      if (!Object.hasOwn(rank, String(e.role)))
        throw new MaestroError(
          'CONFIG_INVALID',
          `tokens file ${path}: $.tokens[${i}].role must be reader, runner or admin`,
          { details: { path: `$.tokens[${i}].role` } },
        );
    });
    return new TokenAuth(list as Array<{ token: string; owner: string; role: Role }>);
  }

  /** The principal of an `Authorization` header, or UNAUTHORIZED. */
  authenticate(header: string | undefined): Principal {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) throw new MaestroError('UNAUTHORIZED', 'a bearer token is required');
    const presented = hashToken(match[1]!);
    let found: StoredToken | undefined;
    // Compare against every token so the time taken does not say which one matched.
    for (const token of this.tokens) {
      if (timingSafeEqual(token.hash, presented)) found = token;
    }
    if (!found) throw new MaestroError('UNAUTHORIZED', 'the bearer token is not valid');
    return { owner: found.owner, role: found.role, tokenId: found.tokenId };
  }
}

export function assertRole(principal: Principal, needed: Role): void {
  if (rank[principal.role] < rank[needed]) {
    throw new MaestroError('FORBIDDEN', `this needs the ${needed} role; the token has ${principal.role}`, {
      details: { role: principal.role, needed },
    });
  }
}

/** Whether a principal may see what an owner owns. Others' things answer 404, not 403. */
export function canSee(principal: Principal, owner: string): boolean {
  return principal.role === 'admin' || principal.owner === owner;
}
