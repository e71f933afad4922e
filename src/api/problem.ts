import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../domain/error-codes.js';
import { MaestroError, toMaestroError } from '../domain/errors.js';
import type { Problem } from '../generated/schemas.js';
import { describeAjvError } from '../schema/format-errors.js';

/** The one mapping from error codes to HTTP statuses. */
const statusOf: Partial<Record<ErrorCode, number>> = {
  PLAN_INVALID: 400,
  INPUT_INVALID: 400,
  DOCUMENT_INVALID: 400,
  EXPRESSION_INVALID: 400,
  CURSOR_INVALID: 400,
  PATH_FORBIDDEN: 400,
  URL_FORBIDDEN: 400,
  STORE_URL_INVALID: 400,
  CONFIG_INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  LIMIT_EXCEEDED: 400,
  OUTPUT_TOO_LARGE: 400,
  KIND_FORBIDDEN: 403,
  PLAN_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  CONCURRENCY_LIMIT: 409,
  STEP_NOT_FOUND: 404,
  ARTIFACT_NOT_FOUND: 404,
  // The artifact exists, its content does not (a URL, attached over the API, or its blob pruned).
  ARTIFACT_UNAVAILABLE: 404,
  STEP_ILLEGAL_TRANSITION: 409,
  RUN_ILLEGAL_TRANSITION: 409,
  IDEMPOTENCY_CONFLICT: 409,
  CONFLICT: 409,
  LEASE_LOST: 409,
  // A schedule's secret this server's provider does not have (a trigger): the message names it, never a value.
  SECRET_MISSING: 409,
  NOT_ACCEPTABLE: 415,
  TOO_MANY_STREAMS: 429,
  STORE_UNAVAILABLE: 503,
  STORE_CORRUPT: 503,
};

export function httpStatusOf(code: ErrorCode): number {
  return statusOf[code] ?? 500;
}

/** Fastify's own errors (FST_ERR_*) that carry a 4xx status are the client's doing. */
function fastifyClientError(error: FastifyError): { status: number; code: ErrorCode } | undefined {
  const status = error.statusCode;
  if (typeof error.code !== 'string' || !error.code.startsWith('FST_') || !status || status < 400 || status >= 500)
    return undefined;
  return { status, code: status === 413 || status === 415 ? 'NOT_ACCEPTABLE' : 'INPUT_INVALID' };
}

/** Any error as an RFC 9457 problem; never a stack trace. */
export function toProblem(error: unknown, instance: string): Problem {
  const fastifyError = error as FastifyError & { validationContext?: Problem['in'] };
  if (Array.isArray(fastifyError.validation) && fastifyError.validation.length > 0) {
    const fault = describeAjvError(fastifyError.validation[0] as never);
    const where = fastifyError.validationContext ?? 'body';
    return {
      type: 'https://maestro-conductor.dev/problems/input_invalid',
      title: 'INPUT_INVALID',
      status: 400,
      code: 'INPUT_INVALID',
      detail: `${where} is invalid at ${fault.path}: expected ${fault.expected}`,
      field: fault.path,
      in: where,
      expected: fault.expected,
      instance,
    };
  }
  const known = fastifyClientError(fastifyError);
  if (known) {
    return {
      type: `https://maestro-conductor.dev/problems/${known.code.toLowerCase()}`,
      title: known.code,
      status: known.status,
      code: known.code,
      detail: fastifyError.message,
      instance,
    };
  }
  if (error instanceof SyntaxError) {
    return {
      type: 'https://maestro-conductor.dev/problems/input_invalid',
      title: 'INPUT_INVALID',
      status: 400,
      code: 'INPUT_INVALID',
      detail: 'body is not valid JSON',
      instance,
    };
  }
  const failure = error instanceof MaestroError ? error : toMaestroError(error);
  const status = httpStatusOf(failure.code);
  const { path, expected } = failure.details;
  return {
    type: `https://maestro-conductor.dev/problems/${failure.code.toLowerCase()}`,
    title: failure.code,
    status,
    code: failure.code,
    // An unexpected error says nothing about the inside.
    detail: status === 500 ? 'internal error' : failure.message,
    instance,
    ...(typeof path === 'string' ? { field: path } : {}),
    ...(typeof expected === 'string' ? { expected } : {}),
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const problem = toProblem(error, request.url.split('?')[0] ?? request.url);
  if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
  if (problem.status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply.code(problem.status).type('application/problem+json').send(problem);
}
