import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApi, type BuildApiOptions } from '../../src/api/app.js';
import { TokenAuth } from '../../src/api/auth.js';
import { Engine } from '../../src/maestro-engine.js';
import type { RunStore } from '../../src/store/port.js';

export const TOKENS = {
  admin: 'admin-token-0123456789abcdef',
  teamA: 'team-a-runner-0123456789abcdef',
  teamAReader: 'team-a-reader-0123456789abcdef',
  teamB: 'team-b-runner-0123456789abcdef',
} as const;

export interface ApiClient {
  baseUrl: string;
  engine: Engine;
  workspace: string;
  request(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: any }>;
  close(): Promise<void>;
}

/** The real API on a loopback port, spoken to with real HTTP (fetch). */
export async function startTestApi(store: RunStore, options: Partial<BuildApiOptions> = {}): Promise<ApiClient> {
  const workspace = mkdtempSync(join(tmpdir(), 'maestro-api-'));
  const engine = new Engine({ store, workspace, pollMs: 20, leaseMs: 5_000 });
  const auth = new TokenAuth([
    { token: TOKENS.admin, owner: 'ops', role: 'admin' },
    { token: TOKENS.teamA, owner: 'team-a', role: 'runner' },
    { token: TOKENS.teamAReader, owner: 'team-a', role: 'reader' },
    { token: TOKENS.teamB, owner: 'team-b', role: 'runner' },
  ]);
  const app: FastifyInstance = await buildApi({
    engine,
    store,
    auth,
    ssePollMs: 20,
    bodyLimit: 256 * 1024,
    ...options,
  });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    baseUrl,
    engine,
    workspace,
    async request(method, path, options = {}) {
      const token = options.token === undefined ? TOKENS.teamA : options.token;
      const headers: Record<string, string> = { ...options.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async close() {
      await app.close();
      engine.close();
    },
  };
}
