import type { FastifyRequest } from 'fastify';
import type { Engine } from '../engine/engine.js';
import type { KindPolicy } from '../engine/trust/kind-policy.js';
import type { StreamSlots } from './stream-slots.js';
import { MaestroError } from '../domain/errors.js';
import type { RunStore } from '../store/port.js';
import type { RunDocument } from '../generated/schemas.js';
import { assertRole, canSee, type Principal, type Role, type TokenAuth } from './auth.js';

export interface ApiDeps {
  engine: Engine;
  store: RunStore;
  auth: TokenAuth;
  /** Execute runs on this process when a request asks (`execute: true`, resume). */
  inProcessRunner: boolean;
  /** Delay between store polls of an SSE stream. */
  ssePollMs: number;
  /** Open SSE streams, bounded per token and per server. */
  streams: StreamSlots;
  /** Step kinds a plan submitted here may use. */
  submitKinds: KindPolicy;
  /** How close the ticks of a schedule created here may come. */
  scheduleMinIntervalMs: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** No token needed (health, OpenAPI). */
    public?: boolean;
  }
}

/** The caller, checked for a role. Authentication ran in the onRequest hook. */
export function caller(request: FastifyRequest, needed: Role): Principal {
  const principal = request.principal;
  if (!principal) throw new MaestroError('UNAUTHORIZED', 'a bearer token is required');
  assertRole(principal, needed);
  return principal;
}

/** The caller, checked for a role, and the run the route's `:run_id` names if the caller may see it. */
export async function callerAndRun(
  deps: ApiDeps,
  request: FastifyRequest<{ Params: { run_id: string } }>,
  needed: Role,
): Promise<{ principal: Principal; run: RunDocument }> {
  const principal = caller(request, needed);
  return { principal, run: await visibleRun(deps, principal, request.params.run_id) };
}

/** The options of a route on one run: `run_id` (and more ids) in the path, the common problems beside its answers. */
export function onRun(
  summary: string,
  tag: string,
  parts: { ids?: string[]; body?: string; querystring?: string; response: Record<number, unknown> },
) {
  return {
    schema: {
      summary,
      tags: [tag],
      params: idParams('run_id', ...(parts.ids ?? [])),
      ...(parts.body ? { body: ref(parts.body) } : {}),
      ...(parts.querystring ? { querystring: ref(parts.querystring) } : {}),
      response: { ...commonProblems, ...parts.response },
    },
  };
}

/** The run if the caller may see it; another owner's run is as absent as a missing one. */
export async function visibleRun(deps: ApiDeps, principal: Principal, runId: string): Promise<RunDocument> {
  const run = await deps.store.getRun(runId);
  if (!run || !canSee(principal, run.owner))
    throw new MaestroError('RUN_NOT_FOUND', `no run ${runId}`, { details: { path: '$.run_id' } });
  return run;
}

export const ref = (schemaId: string) => ({ $ref: schemaId });
export const problem = ref('api/problem.schema.json');
/** The error answers every authenticated route may give. */
export const commonProblems = { 400: problem, 401: problem, 403: problem, 404: problem } as const;

const ULID = '^[0-9A-HJKMNP-TV-Z]{26}$';
export function idParams(...names: string[]) {
  return {
    type: 'object',
    additionalProperties: false,
    required: names,
    properties: Object.fromEntries(names.map((name) => [name, { type: 'string', pattern: ULID }])),
  };
}
