import { MaestroError } from '../../domain/errors.js';
import type { HttpWith } from '../../generated/schemas.js';
import type { StepExecutor } from '../step-context.js';
import { assertFetchable } from './http-address-policy.js';

const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const DEFAULT_MAX_REDIRECTS = 5;

async function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new MaestroError('STEP_FAILED', `response is larger than max_response_bytes (${maxBytes})`, { retryable: false, details: { max_response_bytes: maxBytes } });
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Calls an HTTP(S) endpoint with capped size and time; redirects are followed by hand so each target is checked. */
export const httpExecutor: StepExecutor = {
  kind: 'http',
  withSchema: 'steps/http.schema.json',
  async execute(context) {
    const args = context.args as unknown as HttpWith;
    const allowHosts = args.allow_hosts ?? [];
    const method = args.method ?? (args.body === undefined ? 'GET' : 'POST');
    const headers: Record<string, string> = { 'idempotency-key': context.idempotencyKey, ...args.headers };
    let body: string | undefined;
    if (args.body !== undefined) {
      body = typeof args.body === 'string' ? args.body : JSON.stringify(args.body);
      if (typeof args.body !== 'string') headers['content-type'] ??= 'application/json';
    }
    let url = await assertFetchable(args.url, allowHosts);
    for (let redirects = 0; ; redirects += 1) {
      context.logger.info(`${method} ${url.origin}${url.pathname}`);
      const response = await fetch(url, { method, headers, body, redirect: 'manual', signal: context.signal }).catch((error: unknown) => {
        if (context.signal.aborted) throw context.signal.reason;
        throw new MaestroError('STEP_FAILED', `request failed: ${(error as Error).message}`, { cause: error });
      });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        if (redirects >= (args.max_redirects ?? DEFAULT_MAX_REDIRECTS)) throw new MaestroError('STEP_FAILED', 'too many redirects', { retryable: false });
        await response.body?.cancel();
        url = await assertFetchable(new URL(location, url).toString(), allowHosts);
        continue;
      }
      const raw = await readCapped(response, args.max_response_bytes ?? DEFAULT_MAX_RESPONSE_BYTES);
      const text = raw.toString('utf8');
      let parsed: unknown = text;
      if ((response.headers.get('content-type') ?? '').includes('json')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      const ok = args.expect_status ? args.expect_status.includes(response.status) : response.ok;
      if (!ok) {
        throw new MaestroError('STEP_FAILED', `${method} ${url.host} answered ${response.status}`, {
          // 5xx and 429 may pass; other client errors will not.
          retryable: response.status >= 500 || response.status === 429,
          details: { status: response.status },
        });
      }
      return { outputs: { status: response.status, body: parsed } };
    }
  },
};
