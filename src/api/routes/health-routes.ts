import type { FastifyPluginAsync } from 'fastify';
import { MaestroError } from '../../domain/errors.js';
import type { ApiDeps } from '../api-deps.js';

/** How long readiness waits for the store's answer before it says the store is not there. */
export const READINESS_BOUND_MS = 3_000;

/**
 * A real round-trip: the server answers (ping) and a read goes through the store's own queue and driver, where a
 * wedged store (its I/O threads held, its connection gone) stops; bounded, so readiness never hangs with it.
 */
async function storeAnswers(deps: ApiDeps): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, fail) => {
    timer = setTimeout(
      () =>
        fail(
          new MaestroError('STORE_UNAVAILABLE', `the store did not answer within ${READINESS_BOUND_MS} ms`, {
            details: { timeout_ms: READINESS_BOUND_MS },
          }),
        ),
      READINESS_BOUND_MS,
    );
  });
  try {
    await Promise.race([
      (async () => {
        await deps.store.ping();
        await deps.store.getRun('readiness-probe');
      })(),
      bound,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness and readiness, without auth: readiness checks that the store answers a read in time. */
export function healthRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    const status = {
      type: 'object',
      additionalProperties: false,
      required: ['status'],
      properties: { status: { type: 'string' }, store: { type: 'string' } },
    };
    app.get(
      '/healthz',
      {
        config: { public: true },
        schema: { summary: 'Liveness', tags: ['health'], security: [], response: { 200: status } },
      },
      async () => ({ status: 'ok' }),
    );
    app.get(
      '/readyz',
      {
        config: { public: true },
        schema: {
          summary: 'Readiness: the store answers',
          tags: ['health'],
          security: [],
          response: { 200: status, 503: { $ref: 'api/problem.schema.json' } },
        },
      },
      async () => {
        await storeAnswers(deps);
        return { status: 'ready', store: deps.store.backend };
      },
    );
  };
}
