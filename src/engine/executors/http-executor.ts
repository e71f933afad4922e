import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { MaestroError } from '../../domain/errors.js';
import type { HttpWith } from '../../generated/schemas.js';
import type { StepExecutor } from './step-context.js';
import { checkFetchTarget, type FetchTarget } from './http-address-policy.js';

const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const DEFAULT_MAX_REDIRECTS = 5;
/** Headers that still go to another origin after a redirect; everything the plan set (credentials) stays behind. */
const CROSS_ORIGIN_HEADERS = new Set(['accept', 'accept-language', 'user-agent', 'idempotency-key', 'traceparent']);

async function readCapped(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      response.destroy();
      throw new MaestroError('STEP_FAILED', `response is larger than max_response_bytes (${maxBytes})`, {
        retryable: false,
        details: { max_response_bytes: maxBytes },
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Connects to the address that was checked, whatever DNS says now. */
function pinnedLookup(address: { address: string; family: 4 | 6 }): LookupFunction {
  return ((_hostname: string, options: { all?: boolean } | undefined, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [address]);
    else callback(null, address.address, address.family);
  }) as unknown as LookupFunction;
}

function send(
  target: FetchTarget,
  method: string,
  headers: OutgoingHttpHeaders,
  body: string | undefined,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      target.url,
      { method, headers, signal, ...(target.address ? { lookup: pinnedLookup(target.address) } : {}) },
      resolve,
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** What a redirect keeps: 303 (and 301/302 after a POST) become a GET without body, as browsers and curl do. */
function afterRedirect(
  status: number,
  method: string,
  body: string | undefined,
): { method: string; body: string | undefined } {
  if (status === 303 || ((status === 301 || status === 302) && method === 'POST'))
    return { method: method === 'HEAD' ? 'HEAD' : 'GET', body: undefined };
  return { method, body };
}

/**
 * Calls an HTTP(S) endpoint with capped size and time; redirects are followed by hand so each target is checked,
 * the connection goes to the address that was checked, and credentials never follow a redirect to another origin.
 */
export const httpExecutor: StepExecutor = {
  kind: 'http',
  withSchema: 'steps/http.schema.json',
  async execute(context) {
    const args = context.args as unknown as HttpWith;
    const allowHosts = args.allow_hosts ?? [];
    let method: string = args.method ?? (args.body === undefined ? 'GET' : 'POST');
    let headers: Record<string, string> = {
      'idempotency-key': context.idempotencyKey,
      ...(context.traceparent ? { traceparent: context.traceparent } : {}),
      ...args.headers,
    };
    let body: string | undefined;
    if (args.body !== undefined) {
      body = typeof args.body === 'string' ? args.body : JSON.stringify(args.body);
      if (typeof args.body !== 'string') headers['content-type'] ??= 'application/json';
    }
    let target = await checkFetchTarget(args.url, allowHosts);
    for (let redirects = 0; ; redirects += 1) {
      const { url } = target;
      context.logger.info(`${method} ${url.origin}${url.pathname}`);
      const response = await send(target, method, headers, body, context.signal).catch((error: unknown) => {
        if (context.signal.aborted) throw context.signal.reason;
        throw new MaestroError('STEP_FAILED', `request failed: ${(error as Error).message}`, { cause: error });
      });
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location) {
        response.resume();
        if (redirects >= (args.max_redirects ?? DEFAULT_MAX_REDIRECTS))
          throw new MaestroError('STEP_FAILED', 'too many redirects', { retryable: false });
        const next = await checkFetchTarget(new URL(location, url).toString(), allowHosts);
        ({ method, body } = afterRedirect(status, method, body));
        if (body === undefined) delete headers['content-type'];
        if (next.url.origin !== url.origin)
          headers = Object.fromEntries(
            Object.entries(headers).filter(([name]) => CROSS_ORIGIN_HEADERS.has(name.toLowerCase())),
          );
        target = next;
        continue;
      }
      const raw = await readCapped(response, args.max_response_bytes ?? DEFAULT_MAX_RESPONSE_BYTES);
      const text = raw.toString('utf8');
      let parsed: unknown = text;
      if ((response.headers['content-type'] ?? '').includes('json')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      const ok = args.expect_status ? args.expect_status.includes(status) : status >= 200 && status < 300;
      if (!ok) {
        throw new MaestroError('STEP_FAILED', `${method} ${url.host} answered ${status}`, {
          // 5xx and 429 may pass; other client errors will not.
          retryable: status >= 500 || status === 429,
          details: { status },
        });
      }
      return { outputs: { status, body: parsed } };
    }
  },
};
