import type { FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiDeps } from './api-deps.js';

/** How long a stream waits for a client to read a full socket buffer before dropping it. */
const SLOW_CLIENT_MS = 5_000;

export interface OpenStream {
  /** Writes, waiting a short while for a full socket buffer to drain; false once the client is gone or dropped. */
  send(data: string | Buffer): Promise<boolean>;
  readonly open: boolean;
}

/**
 * Takes over a response to stream it (SSE, a followed log): counted against the caller's and the server's stream
 * limits (429 before anything is sent), ended and its slot given back however the work ends. A client that does
 * not read is dropped, not buffered for.
 */
export async function streamResponse(
  deps: ApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  headers: Record<string, string>,
  work: (stream: OpenStream) => Promise<void>,
): Promise<FastifyReply> {
  const release = deps.streams.acquire(request.headers.authorization ?? '');
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...headers });
  let open = true;
  // The response's close is the client going away (the request's may fire as soon as its body is read).
  out.on('close', () => {
    open = false;
    release();
  });
  const stream: OpenStream = {
    get open() {
      return open;
    },
    async send(data) {
      if (!open) return false;
      if (out.write(data)) return true;
      const drained = await Promise.race([
        once(out, 'drain').then(() => true),
        sleep(SLOW_CLIENT_MS).then(() => false),
      ]);
      if (!drained) {
        open = false;
        out.destroy();
      }
      return open;
    },
  };
  try {
    await work(stream);
  } finally {
    release();
    out.end();
  }
  return reply;
}
