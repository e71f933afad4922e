import type { FastifyPluginAsync } from 'fastify';
import type { StepLogQuery } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { tailStepLog } from '../../engine/logs/step-log-tail.js';
import { callerAndRun, onRun, type ApiDeps } from '../api-deps.js';
import { streamResponse } from '../streamed-response.js';

/**
 * One step attempt's log as text, from a byte offset: what is there now, or with `follow=true` a response that
 * streams what the attempt writes until it ends. The log is read from the store's log chunks, which the runner that
 * runs the attempt (this server's or a worker elsewhere) stores as it writes; a log stored before chunks existed is
 * the file this server's runner wrote for that attempt, never the step's `logs_ref`: a ref reported over the API is
 * shown, not opened. `X-Log-Attempt` says which attempt, so a client that lost the stream resumes with `attempt` and
 * `offset` = the bytes it has.
 */
export function logRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { run_id: string; step_id: string }; Querystring: StepLogQuery }>(
      '/v1/runs/:run_id/steps/:step_id/logs',
      onRun(
        "A step attempt's log from a byte offset; follow=true streams it as written until the attempt ends",
        'steps',
        {
          ids: ['step_id'],
          querystring: 'api/step-log-query.schema.json',
          response: { 200: { type: 'string', contentMediaType: 'text/plain' } },
        },
      ),
      async (request, reply) => {
        const { run } = await callerAndRun(deps, request, 'reader');
        const step = await deps.store.getStep(request.params.step_id);
        if (step?.run_id !== run.run_id)
          throw new MaestroError('STEP_NOT_FOUND', `run ${run.run_id} has no step ${request.params.step_id}`, {
            details: { path: '$.step_id' },
          });
        const attempt = request.query.attempt ?? step.attempt;
        if (attempt > Math.max(1, step.attempt))
          throw new MaestroError('STEP_NOT_FOUND', `step ${step.key} has had no attempt ${attempt}`, {
            details: { path: '$.attempt' },
          });
        const tail = {
          store: deps.store,
          logsDir: deps.engine.logsDirectory,
          runId: run.run_id,
          stepId: step.step_id,
          attempt: Math.max(1, attempt),
          offset: request.query.offset ?? 0,
          pollMs: deps.ssePollMs,
        };
        const headers = { 'content-type': 'text/plain; charset=utf-8', 'x-log-attempt': String(tail.attempt) };
        if (!request.query.follow) {
          const chunks: Buffer[] = [];
          await tailStepLog({ ...tail, follow: false, write: (chunk) => chunks.push(chunk) > 0 });
          return reply.headers(headers).send(Buffer.concat(chunks));
        }
        // Counted as a stream (429 past the limits) and ended with the attempt or when the client goes.
        return streamResponse(deps, request, reply, headers, async (stream) => {
          await tailStepLog({ ...tail, follow: true, write: (chunk) => stream.send(chunk) });
        });
      },
    );
  };
}
