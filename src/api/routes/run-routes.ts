import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type {
  AttachArtifactRequest,
  ListRunsQuery,
  RerunRequest,
  StartRunRequest,
  UpdateStepRequest,
} from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { isTraceparent } from '../../domain/trace-context.js';
import { isTerminalRunStatus } from '../../domain/status.js';
import { parseListRunsQuery } from '../../store/list-runs-query.js';
import { canSee } from '../auth.js';
import { caller, callerAndRun, commonProblems, onRun, problem, ref, type ApiDeps } from '../api-deps.js';

const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Runs: start, list, get, step updates, artifacts, cancel, resume, rerun. Handlers parse, call the engine, format. */
export function runRoutes(deps: ApiDeps): FastifyPluginAsync {
  const { engine, store } = deps;

  /** Executes a run on this process without holding the request; failures are logged (the run records its own). */
  const executeInBackground = (request: FastifyRequest, runId: string): void => {
    void engine
      .executeRun(runId)
      .catch((error: unknown) => request.log.warn({ err: error, runId }, 'in-process execution stopped'));
  };
  const assertCanExecute = (): void => {
    if (!deps.inProcessRunner)
      throw new MaestroError('FORBIDDEN', 'this server has no in-process runner; a `maestro worker` executes runs', {
        details: { path: '$.execute' },
      });
  };

  return async (app) => {
    app.post<{ Body: StartRunRequest }>(
      '/v1/runs',
      {
        schema: {
          summary: 'Start a run of a plan (creates it with its steps; a worker or ?execute runs it)',
          tags: ['runs'],
          headers: {
            type: 'object',
            properties: {
              [IDEMPOTENCY_HEADER]: { type: 'string', minLength: 1, maxLength: 200 },
              // W3C trace context: the run's span hangs under the caller's (an invalid one is ignored, as W3C says).
              traceparent: { type: 'string', maxLength: 200 },
            },
          },
          body: ref('api/start-run.schema.json'),
          response: { 200: ref('run.schema.json'), 201: ref('run.schema.json'), ...commonProblems },
        },
      },
      async (request, reply) => {
        const principal = caller(request, 'runner');
        const body = request.body;
        const plan = await store.getPlan(body.plan_id, body.plan_version);
        if (!plan || !canSee(principal, plan.owner))
          throw new MaestroError('PLAN_NOT_FOUND', `no plan ${body.plan_id}`, { details: { path: '$.plan_id' } });
        if (body.execute) assertCanExecute();
        const headerKey = request.headers[IDEMPOTENCY_HEADER];
        const idempotencyKey = (typeof headerKey === 'string' ? headerKey : undefined) ?? body.idempotency_key;
        const { run, created } = await engine.startRun(plan, {
          inputs: body.inputs ?? {},
          owner: plan.owner,
          labels: body.labels ?? {},
          ...(idempotencyKey ? { idempotencyKey } : {}),
          ...(body.concurrency ? { concurrency: body.concurrency } : {}),
          ...(isTraceparent(request.headers.traceparent) ? { traceParent: request.headers.traceparent } : {}),
          // The run, and every child run it starts, may execute only what this API allows, on any runner.
          allowedKinds: deps.submitKinds.kinds,
        });
        if (created && body.execute) executeInBackground(request, run.run_id);
        return reply.code(created ? 201 : 200).send(run);
      },
    );

    app.get<{ Querystring: ListRunsQuery }>(
      '/v1/runs',
      {
        schema: {
          summary: 'List runs (list_runs): filters, newest first, opaque cursor',
          tags: ['runs'],
          querystring: ref('api/list-runs-query.schema.json'),
          response: { 200: ref('api/run-page.schema.json'), ...commonProblems },
        },
      },
      async (request) => {
        const principal = caller(request, 'reader');
        const { filter, page } = parseListRunsQuery(request.query as Record<string, unknown>);
        if (filter.owner !== undefined && !canSee(principal, filter.owner)) return { items: [] };
        if (principal.role !== 'admin') filter.owner = principal.owner;
        return store.listRuns(filter, page);
      },
    );

    app.get<{ Params: { run_id: string } }>(
      '/v1/runs/:run_id',
      onRun('Get a run with its steps and artifacts (get_run)', 'runs', {
        response: { 200: ref('api/run-detail.schema.json') },
      }),
      async (request) => {
        const { run } = await callerAndRun(deps, request, 'reader');
        return engine.getRunDetail(run.run_id);
      },
    );

    app.patch<{ Params: { run_id: string; step_id: string }; Body: UpdateStepRequest }>(
      '/v1/runs/:run_id/steps/:step_id',
      onRun(
        "Report a step's status from outside (external workers, manual steps); illegal transitions are 409",
        'steps',
        {
          ids: ['step_id'],
          body: 'api/update-step.schema.json',
          response: { 200: ref('step.schema.json'), 409: problem },
        },
      ),
      async (request) => {
        const { run } = await callerAndRun(deps, request, 'runner');
        return engine.updateStepStatus(run.run_id, request.params.step_id, request.body);
      },
    );

    app.post<{ Params: { run_id: string }; Body: AttachArtifactRequest }>(
      '/v1/runs/:run_id/artifacts',
      onRun(
        'Attach an artifact to a run (and optionally a step); workspace files get their sha256 and size',
        'artifacts',
        {
          body: 'api/attach-artifact.schema.json',
          response: { 201: ref('artifact.schema.json') },
        },
      ),
      async (request, reply) => {
        const { run } = await callerAndRun(deps, request, 'runner');
        const artifact = await engine.attachArtifact(run.run_id, request.body, request.body.step_id);
        return reply.code(201).send(artifact);
      },
    );

    app.post<{ Params: { run_id: string } }>(
      '/v1/runs/:run_id/cancel',
      onRun('Cancel a run', 'runs', { response: { 200: ref('run.schema.json'), 409: problem } }),
      async (request) => {
        const { run } = await callerAndRun(deps, request, 'runner');
        return engine.cancelRun(run.run_id);
      },
    );

    app.post<{ Params: { run_id: string } }>(
      '/v1/runs/:run_id/resume',
      onRun("Resume a run on this server's runner (it waits for a dead runner's lease to expire)", 'runs', {
        response: { 202: ref('run.schema.json'), 409: problem },
      }),
      async (request, reply: FastifyReply) => {
        const { run } = await callerAndRun(deps, request, 'runner');
        if (isTerminalRunStatus(run.status))
          throw new MaestroError('RUN_ILLEGAL_TRANSITION', `run ${run.run_id} already ended ${run.status}`, {
            details: { status: run.status },
          });
        assertCanExecute();
        executeInBackground(request, run.run_id);
        return reply.code(202).send(run);
      },
    );

    app.post<{ Params: { run_id: string }; Body: RerunRequest }>(
      '/v1/runs/:run_id/rerun',
      onRun('Start a new run linked to this one from a step, reusing the outputs before it', 'runs', {
        body: 'api/rerun.schema.json',
        response: { 201: ref('run.schema.json') },
      }),
      async (request, reply) => {
        const { run: old } = await callerAndRun(deps, request, 'runner');
        if (request.body.execute) assertCanExecute();
        const run = await engine.rerunFrom(old.run_id, request.body.from_step, {
          ...(request.body.inputs ? { inputs: request.body.inputs } : {}),
          allowKinds: deps.submitKinds,
        });
        if (request.body.execute) executeInBackground(request, run.run_id);
        return reply.code(201).send(run);
      },
    );
  };
}
