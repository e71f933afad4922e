import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MaestroError } from '../../domain/errors.js';

export type LineageTransportConfig =
  { type: 'file'; path: string } | { type: 'http'; url: string; api_key?: string; timeout_ms?: number };

export type LineageTransport = (event: Record<string, unknown>) => Promise<void>;

/** JSON lines appended to a file, or a POST to an OpenLineage backend's `/api/v1/lineage`. */
export function createLineageTransport(config: LineageTransportConfig): LineageTransport {
  if (config.type === 'file') {
    return async (event) => {
      await mkdir(dirname(config.path), { recursive: true });
      await appendFile(config.path, `${JSON.stringify(event)}\n`);
    };
  }
  const endpoint = new URL('/api/v1/lineage', config.url).toString();
  return async (event) => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(config.api_key ? { authorization: `Bearer ${config.api_key}` } : {}),
      },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(config.timeout_ms ?? 5_000),
    });
    await response.body?.cancel();
    if (!response.ok)
      throw new MaestroError('STEP_FAILED', `OpenLineage endpoint answered ${response.status}`, {
        details: { status: response.status },
      });
  };
}
