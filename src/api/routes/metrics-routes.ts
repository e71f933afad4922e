import type { FastifyPluginAsync } from 'fastify';
import { caller } from '../api-deps.js';

/** Anything that renders Prometheus exposition text. */
export interface MetricsSource {
  exposition(): Promise<{ contentType: string; body: string }>;
}

/**
 * `GET /metrics` in the Prometheus text format, for a scraper holding a token (any role): the counts are by plan
 * name, step kind and status across every owner, never ids or contents. Not in /openapi.json (it is not JSON).
 */
export function metricsRoutes(metrics: MetricsSource): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      caller(request, 'reader');
      const { contentType, body } = await metrics.exposition();
      return reply.type(contentType).send(body);
    });
  };
}
