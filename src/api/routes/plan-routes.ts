import type { FastifyPluginAsync } from 'fastify';
import type { CreatePlanRequest, ListPlansQuery } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { assertPlanDepth } from '../../plan/load-plan.js';
import { canSee } from '../auth.js';
import { caller, commonProblems, idParams, problem, ref, type ApiDeps } from '../api-deps.js';

/** Plans: create (validated, returns its version), list, get. */
export function planRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: CreatePlanRequest }>(
      '/v1/plans',
      {
        schema: {
          summary: 'Store a plan version (idempotent)',
          tags: ['plans'],
          body: ref('api/create-plan.schema.json'),
          response: {
            200: ref('api/plan-created.schema.json'),
            201: ref('api/plan-created.schema.json'),
            ...commonProblems,
          },
        },
        // Before the schema: it is recursive, and a plan of groups thousands deep would exhaust its validator.
        preValidation: async (request) => {
          const body: unknown = request.body;
          if (body !== null && typeof body === 'object') assertPlanDepth((body as { plan?: unknown }).plan, '$.plan');
        },
      },
      async (request, reply) => {
        const principal = caller(request, 'runner');
        const { plan } = request.body;
        if (plan.owner !== undefined && !canSee(principal, plan.owner)) {
          throw new MaestroError('FORBIDDEN', `this token may only create plans owned by ${principal.owner}`, {
            details: { path: '$.plan.owner' },
          });
        }
        // Who may run what: a plan from the API may not bring code to the host unless the operator allows it.
        const result = await deps.engine.applyPlan(plan, {
          owner: plan.owner ?? principal.owner,
          allowKinds: { policy: deps.submitKinds, where: 'this API', kindsPath: '$.plan' },
        });
        return reply.code(result.created ? 201 : 200).send(result);
      },
    );

    app.get<{ Querystring: ListPlansQuery }>(
      '/v1/plans',
      {
        schema: {
          summary: 'List plan versions, newest first',
          tags: ['plans'],
          querystring: ref('api/list-plans-query.schema.json'),
          response: { 200: ref('api/plan-page.schema.json'), ...commonProblems },
        },
      },
      async (request) => {
        const principal = caller(request, 'reader');
        const { owner, name, limit = 50, cursor } = request.query;
        if (owner !== undefined && !canSee(principal, owner)) return { items: [] };
        const scopedOwner = principal.role === 'admin' ? owner : principal.owner;
        return deps.store.listPlans(
          { ...(scopedOwner ? { owner: scopedOwner } : {}), ...(name ? { name } : {}) },
          { limit, ...(cursor ? { cursor } : {}) },
        );
      },
    );

    app.get<{ Params: { plan_id: string }; Querystring: { version?: string } }>(
      '/v1/plans/:plan_id',
      {
        schema: {
          summary: 'Get a plan version (the newest unless ?version=)',
          tags: ['plans'],
          params: idParams('plan_id'),
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { version: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
          },
          response: { 200: ref('plan-document.schema.json'), ...commonProblems, 404: problem },
        },
      },
      async (request) => {
        const principal = caller(request, 'reader');
        const plan = await deps.store.getPlan(request.params.plan_id, request.query.version);
        if (!plan || !canSee(principal, plan.owner))
          throw new MaestroError('PLAN_NOT_FOUND', `no plan ${request.params.plan_id}`, {
            details: { path: '$.plan_id' },
          });
        return plan;
      },
    );
  };
}
