import type { FastifyPluginAsync } from 'fastify';
import { caller, commonProblems, ref, type ApiDeps } from '../api-deps.js';

/** `GET /v1/me`: whom the token acts for, so a client (the console) offers only what the token may do. */
export function principalRoutes(_deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/v1/me',
      {
        schema: {
          summary: "The token's owner and role",
          tags: ['auth'],
          response: { ...commonProblems, 200: ref('api/principal.schema.json') },
        },
      },
      async (request) => {
        const { owner, role } = caller(request, 'reader');
        return { owner, role };
      },
    );
  };
}
