import type { FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { caller, type ApiDeps } from './api-deps.js';

/** Bytes a stream writes before it lets other requests have the event loop: a long catch-up never starves them. */
const BYTES_PER_TURN = 256 * 1024;

export interface OpenStream {
  /**
   * Writes, waiting a short while (`slowClientMs`) for a full socket buffer to drain; false once the client is gone
   * or was dropped for not reading. What the server holds for a stream is bounded: the socket's buffer and one write.
   */
  send(data: string | Buffer): Promise<boolean>;
  readonly open: boolean;
}

/**
 * Takes over a response to stream it (SSE, a followed log): counted against the caller's token, owner and the
 * server's stream limits (429 before anything is sent), ended and its slot given back however the work ends. A client
 * that does not read is dropped, not buffered for.
 */
export async function streamResponse(
  deps: ApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  headers: Record<string, string>,
  work: (stream: OpenStream) => Promise<void>,
): Promise<FastifyReply> {
  const release = deps.streams.acquire(caller(request, 'reader'));
  const { slowClientMs } = deps.streams.limits;
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...headers });
  let open = true;
  let sinceTurn = 0;
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
      sinceTurn += data.length;
      if (out.write(data)) {
        if (sinceTurn >= BYTES_PER_TURN) {
          sinceTurn = 0;
          await nextTurn();
        }
        return open;
      }
      sinceTurn = 0;
      const waited = new AbortController();
      const drained = await Promise.race([
        once(out, 'drain', { signal: waited.signal }).then(
          () => true,
          () => false,
        ),
        once(out, 'close', { signal: waited.signal }).then(
          () => false,
          () => false,
        ),
        sleep(slowClientMs, undefined, { signal: waited.signal }).then(
          () => false,
          () => false,
        ),
      ]);
      waited.abort();
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
