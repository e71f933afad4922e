import type { FastifyRequest } from 'fastify';

/** Query parameters whose values are credentials when someone puts them in a URL (they are refused, but logged). */
const SENSITIVE_PARAM = /token|key|secret|password|passwd|auth|session|signature|sig$/i;

/** A request URL for the log: values of credential-like query parameters replaced by ***. */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const params = url
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const [name = '', value] = pair.split('=');
      return value !== undefined && SENSITIVE_PARAM.test(decodeURIComponent(name)) ? `${name}=***` : pair;
    });
  return `${url.slice(0, query)}?${params.join('&')}`;
}

/** Fastify's logger options: the Authorization header and credential-like query values never reach a log line. */
export const redactingLogger = {
  redact: ['req.headers.authorization'],
  serializers: {
    req(request: FastifyRequest) {
      return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
    },
  },
};
