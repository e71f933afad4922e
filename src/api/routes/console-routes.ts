import type { FastifyPluginAsync } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaestroError } from '../../domain/errors.js';
import { schemasDirectory } from '../../schema/schema-files.js';

/** The console's files, built by `npm run build` into dist/console of this package. */
export function consoleDirectory(): string {
  return join(schemasDirectory(), '..', 'dist', 'console');
}

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

// Everything from this origin, nothing inline, no frames, no forms posting elsewhere.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The web console at /console/ (`maestro serve` unless `--no-ui`): static files, public like the docs page — the
 * data comes from the API with the token the person signs in with, kept in the tab's sessionStorage only.
 */
export function consoleRoutes(directory = consoleDirectory()): FastifyPluginAsync {
  // Read once at start: a missing build is said now, not on the first page view.
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(FILES)) {
    try {
      files.set(name, readFileSync(join(directory, name)));
    } catch {
      throw new MaestroError(
        'CONFIG_INVALID',
        `the console is not built (${directory}); run npm run build, or serve with --no-ui`,
      );
    }
  }
  return async (app) => {
    const send = (name: string) => ({
      config: { public: true },
      schema: { hide: true },
      handler: async (_request: unknown, reply: import('fastify').FastifyReply) =>
        reply
          .header('content-security-policy', CONTENT_SECURITY_POLICY)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('cache-control', 'no-cache')
          .type(FILES[name]!)
          .send(files.get(name)),
    });
    app.get('/', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
      reply.redirect('/console/'),
    );
    app.route({ method: 'GET', url: '/console/', ...send('index.html') });
    for (const name of Object.keys(FILES)) app.route({ method: 'GET', url: `/console/${name}`, ...send(name) });
  };
}
