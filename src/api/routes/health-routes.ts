import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../api-deps.js';

/** Liveness and readiness, without auth: readiness checks that the store answers. */
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
        await deps.store.ping();
        return { status: 'ready', store: deps.store.backend };
      },
    );
  };
}
