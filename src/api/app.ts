import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { DEFAULT_API_KINDS, onlyKinds, type KindPolicy } from '../engine/trust/kind-policy.js';
import { coercingAjv, sharedAjv } from '../schema/validators.js';
import type { RunStore } from '../store/port.js';
import type { ApiDeps } from './api-deps.js';
import type { TokenAuth } from './auth.js';
import { buildOpenApi, documentedRoute, type DocumentedRoute } from './openapi.js';
import { redactingLogger } from './log-redaction.js';
import { sendProblem } from './problem.js';
import { StreamSlots, type StreamLimits } from './stream-slots.js';
import { artifactRoutes } from './routes/artifact-routes.js';
import { eventRoutes } from './routes/event-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { consoleRoutes } from './routes/console-routes.js';
import { logRoutes } from './routes/log-routes.js';
import { principalRoutes } from './routes/principal-routes.js';
import { provenanceRoutes } from './routes/provenance-routes.js';
import { scheduleRoutes } from './routes/schedule-routes.js';
import { metricsRoutes, type MetricsSource } from './routes/metrics-routes.js';
import { planRoutes } from './routes/plan-routes.js';
import { runRoutes } from './routes/run-routes.js';

export interface BuildApiOptions {
  engine: Engine;
  store: RunStore;
  auth: TokenAuth;
  /** Let requests execute runs on this process (`execute: true`, resume). Default true. */
  inProcessRunner?: boolean;
  /** Largest request body, in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** JSON logs through Fastify's pino: the level, and whether each request is logged too. Default: none. */
  logger?: false | { level: string; requests: boolean };
  ssePollMs?: number;
  /** Open streams per token, owner and server, and when a client that does not read is dropped (DEFAULT_STREAM_LIMITS). */
  streamLimits?: Partial<StreamLimits>;
  /** Step kinds a plan submitted over the API may use. Default: no exec and no shell (DEFAULT_API_KINDS). */
  submitKinds?: KindPolicy;
  /** Served at GET /metrics when given. */
  metrics?: MetricsSource;
  /** Serve the web console at /console/ (the built files of dist/console). Default false. */
  console?: boolean;
  /** How close the ticks of a schedule created over the API may come. Default 60 s (DEFAULT_SCHEDULE_MIN_INTERVAL_MS). */
  scheduleMinIntervalMs?: number;
}

/** No schedule created over the API fires more often than once a minute, unless the server says otherwise. */
export const DEFAULT_SCHEDULE_MIN_INTERVAL_MS = 60_000;

export const API_VERSION = '0.1.0';

/**
 * The HTTP API as a Fastify app (not listening yet: tests use it with real sockets or inject). Every route's
 * schemas are the files of schemas/, compiled by Maestro's own ajv, and /openapi.json is built from them.
 */
export async function buildApi(options: BuildApiOptions): Promise<FastifyInstance> {
  const deps: ApiDeps = {
    engine: options.engine,
    store: options.store,
    auth: options.auth,
    inProcessRunner: options.inProcessRunner ?? true,
    ssePollMs: options.ssePollMs ?? 250,
    submitKinds: options.submitKinds ?? onlyKinds(DEFAULT_API_KINDS),
    streams: new StreamSlots(options.streamLimits),
    scheduleMinIntervalMs: options.scheduleMinIntervalMs ?? DEFAULT_SCHEDULE_MIN_INTERVAL_MS,
  };
  const app = Fastify({
    logger: options.logger ? { ...redactingLogger, level: options.logger.level } : false,
    logController: new LogController({ disableRequestLogging: !(options.logger && options.logger.requests) }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // The default query-string parser never builds nested objects: `status[$ne]=x` stays one odd key.
    routerOptions: { ignoreTrailingSlash: true },
  });

  // Validation by schemas/ (draft 2020-12); query strings and params are coerced to the scalars they declare.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv =
      httpPart === 'querystring' || httpPart === 'params' || httpPart === 'headers' ? coercingAjv() : sharedAjv();
    return ajv.compile(schema);
  });
  // Responses are plain JSON; their schemas document them in /openapi.json.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Only JSON bodies: anything else is 415.
  app.removeContentTypeParser('text/plain');

  const routes: DocumentedRoute[] = [];
  app.addHook('onRoute', (route) => {
    const documented = documentedRoute(route);
    if (documented) routes.push(documented);
  });
  app.addHook('onRequest', async (request) => {
    // Health, the OpenAPI document and its docs page are public; everything else needs a token.
    const url = request.routeOptions.url;
    if (url === undefined || request.routeOptions.config.public || url.startsWith('/docs')) return;
    request.principal = deps.auth.authenticate(request.headers.authorization);
  });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, request, error));
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send({
        type: 'https://maestro-conductor.dev/problems/not_found',
        title: 'NOT_FOUND',
        status: 404,
        code: 'NOT_FOUND',
        detail: `no route ${request.method} ${request.url.split('?')[0]}`,
      }),
  );

  await app.register(healthRoutes(deps));
  await app.register(planRoutes(deps));
  await app.register(runRoutes(deps));
  await app.register(eventRoutes(deps));
  await app.register(logRoutes(deps));
  await app.register(artifactRoutes(deps));
  await app.register(principalRoutes(deps));
  await app.register(provenanceRoutes(deps));
  await app.register(scheduleRoutes(deps));
  if (options.console) await app.register(consoleRoutes());
  if (options.metrics) await app.register(metricsRoutes(options.metrics));

  let openApi: Record<string, unknown> | undefined;
  const document = () => (openApi ??= buildOpenApi(routes, { title: 'Maestro Conductor API', version: API_VERSION }));
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => document());
  await app.register(fastifySwagger, { mode: 'static', specification: { document: {} as never } });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    transformSpecification: () => document(),
    uiConfig: { url: '/openapi.json' },
  });
  return app;
}
