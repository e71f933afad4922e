import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CreateScheduleRequest, ListSchedulesQuery, ScheduleDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { canSee, type Role } from '../auth.js';
import { caller, commonProblems, idParams, problem, ref, type ApiDeps } from '../api-deps.js';

type OnSchedule = FastifyRequest<{ Params: { schedule_id: string } }>;

/** Schedules over the API, with the same roles and owner scoping as runs: another owner's schedule is a 404. */
export function scheduleRoutes(deps: ApiDeps): FastifyPluginAsync {
  const visible = async (request: OnSchedule, role: Role): Promise<ScheduleDocument> => {
    const principal = caller(request, role);
    const schedule = await deps.store.getSchedule(request.params.schedule_id);
    if (!schedule || !canSee(principal, schedule.owner))
      throw new MaestroError('SCHEDULE_NOT_FOUND', `no schedule ${request.params.schedule_id}`, {
        details: { path: '$.schedule_id' },
      });
    return schedule;
  };
  const onSchedule = (summary: string, response: Record<number, unknown>) => ({
    schema: {
      summary,
      tags: ['schedules'],
      params: idParams('schedule_id'),
      response: { ...commonProblems, ...response },
    },
  });
  return async (app) => {
    app.post<{ Body: CreateScheduleRequest }>(
      '/v1/schedules',
      {
        schema: {
          summary: "Schedule a plan on a cron: workers start each tick's run once",
          tags: ['schedules'],
          body: ref('api/create-schedule.schema.json'),
          response: { ...commonProblems, 201: ref('schedule.schema.json') },
        },
      },
      async (request, reply) => {
        const principal = caller(request, 'runner');
        const planDoc = await deps.store.getPlan(request.body.plan_id);
        if (!planDoc || !canSee(principal, planDoc.owner))
          throw new MaestroError('PLAN_NOT_FOUND', `no plan ${request.body.plan_id}`, {
            details: { path: '$.plan_id' },
          });
        const { schedule } = await deps.engine.schedules.create({
          ...request.body,
          owner: principal.owner,
          minIntervalMs: deps.scheduleMinIntervalMs,
          // The runs it starts may execute what this API allows, whichever runner fires them.
          allowed_kinds: deps.submitKinds.kinds,
        });
        return reply.code(201).send(schedule);
      },
    );
    app.get<{ Querystring: ListSchedulesQuery }>(
      '/v1/schedules',
      {
        schema: {
          summary: 'List schedules, newest first',
          tags: ['schedules'],
          querystring: ref('api/list-schedules-query.schema.json'),
          response: { ...commonProblems, 200: ref('api/schedule-page.schema.json') },
        },
      },
      async (request) => {
        const principal = caller(request, 'reader');
        return deps.engine.schedules.list(principal.role === 'admin' ? undefined : principal.owner, {
          limit: request.query.limit ?? 50,
          ...(request.query.cursor ? { cursor: request.query.cursor } : {}),
        });
      },
    );
    app.get<{ Params: { schedule_id: string } }>(
      '/v1/schedules/:schedule_id',
      onSchedule('Get a schedule', { 200: ref('schedule.schema.json') }),
      async (request) => visible(request, 'reader'),
    );
    app.delete<{ Params: { schedule_id: string } }>(
      '/v1/schedules/:schedule_id',
      onSchedule('Delete a schedule (its runs stay)', { 204: { type: 'null' } }),
      async (request, reply) => {
        await deps.engine.schedules.delete((await visible(request, 'runner')).schedule_id);
        return reply.code(204).send();
      },
    );
    for (const [action, paused] of [
      ['pause', true],
      ['resume', false],
    ] as const)
      app.post<{ Params: { schedule_id: string } }>(
        `/v1/schedules/:schedule_id/${action}`,
        onSchedule(paused ? 'Stop firing ticks' : 'Fire ticks again, from the next one on', {
          200: ref('schedule.schema.json'),
        }),
        async (request) => deps.engine.schedules.setPaused((await visible(request, 'runner')).schedule_id, paused),
      );
    app.post<{ Params: { schedule_id: string } }>(
      '/v1/schedules/:schedule_id/trigger',
      onSchedule('Start a run of the schedule now', { 201: ref('run.schema.json'), 409: problem }),
      async (request, reply) =>
        reply.code(201).send(await deps.engine.schedules.trigger((await visible(request, 'runner')).schedule_id)),
    );
  };
}
