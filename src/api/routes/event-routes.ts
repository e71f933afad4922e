import type { FastifyPluginAsync } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ListEventsQuery } from '../../generated/schemas.js';
import { isTerminalRunStatus } from '../../domain/status.js';
import { EventType } from '../../events/event-types.js';
import { callerAndRun, onRun, ref, type ApiDeps } from '../api-deps.js';
import { streamResponse, type OpenStream } from '../streamed-response.js';

const SSE_BATCH = 500;
/** The events that end a run's stream once sent. */
const RUN_END_EVENTS: ReadonlySet<string> = new Set([
  EventType.runSucceeded,
  EventType.runFailed,
  EventType.runCancelled,
]);
/** Polls after the run's status says it ended, waiting for its end event, before the stream ends anyway. */
const END_EVENT_POLLS = 40;

/** Up to SSE_BATCH events of a run after a seq, as the text of their SSE messages. */
interface SseBatch {
  text: string;
  count: number;
  lastSeq: number;
  /** It holds the run's end event. */
  ended: boolean;
}

/**
 * The next batch of a run's stream, read and written out in one of the streams' turns (so many streams catching up
 * take turns with each other, not with every other request), and shared by the streams that want the same one.
 */
function nextBatch(deps: ApiDeps, runId: string, after: number): Promise<SseBatch> {
  return deps.streams.read(`events:${runId}:${after}`, async () => {
    const events = await deps.store.listEvents(runId, after, SSE_BATCH);
    return {
      text: events
        .map((event) => `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
        .join(''),
      count: events.length,
      lastSeq: events.at(-1)?.seq ?? after,
      ended: events.some((event) => RUN_END_EVENTS.has(event.type)),
    };
  });
}

/**
 * A run's stored events from a seq on: a JSON page, or with `Accept: text/event-stream` a Server-Sent Events
 * stream (`id` is the seq, so `Last-Event-ID` resumes) that ends once the run has ended and everything is sent.
 */
export function eventRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { run_id: string }; Querystring: ListEventsQuery }>(
      '/v1/runs/:run_id/events',
      onRun("A run's events after a seq: JSON, or a live SSE stream with Accept: text/event-stream", 'events', {
        querystring: 'api/list-events-query.schema.json',
        response: { 200: ref('api/event-page.schema.json') },
      }),
      async (request, reply) => {
        const runId = (await callerAndRun(deps, request, 'reader')).run.run_id;
        const lastEventId = Number(request.headers['last-event-id']);
        let after = Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : (request.query.after_seq ?? 0);
        if (!String(request.headers.accept ?? '').includes('text/event-stream')) {
          return { items: await deps.store.listEvents(runId, after, request.query.limit ?? 500) };
        }
        // Refused (429) before the stream opens; the slot is given back however the stream ends.
        return streamResponse(
          deps,
          request,
          reply,
          { 'content-type': 'text/event-stream', connection: 'keep-alive' },
          (stream) => streamEvents(stream),
        );

        async function streamEvents(stream: OpenStream): Promise<void> {
          let ended = false;
          // The run's status is written before its run.succeeded/failed/cancelled event: the stream ends only once
          // that event is sent (or a while after the status says the run ended, should it never come).
          for (let polls = 0; stream.open; polls += 1) {
            const batch = await nextBatch(deps, runId, after);
            if (batch.count > 0) {
              if (!(await stream.send(batch.text))) return;
              after = batch.lastSeq;
              ended ||= batch.ended;
            }
            if (batch.count === SSE_BATCH) continue;
            if (ended) {
              // Anything written just after the end (delivery bookkeeping) is picked up by one last read.
              const last = await nextBatch(deps, runId, after);
              if (last.count > 0) await stream.send(last.text);
              return;
            }
            const run = await deps.store.getRun(runId);
            if (!run) return;
            if (isTerminalRunStatus(run.status)) {
              if (polls > END_EVENT_POLLS) return;
            } else {
              polls = 0;
            }
            await stream.send(': keep-alive\n\n');
            await sleep(deps.ssePollMs);
          }
        }
      },
    );
  };
}
