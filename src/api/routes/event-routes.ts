import type { FastifyPluginAsync } from 'fastify';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventDocument, ListEventsQuery } from '../../generated/schemas.js';
import { isTerminalRunStatus } from '../../domain/status.js';
import { EventType } from '../../events/event-types.js';
import { callerAndRun, onRun, ref, type ApiDeps } from '../api-deps.js';

const SSE_BATCH = 500;
/** The events that end a run's stream once sent. */
const RUN_END_EVENTS: ReadonlySet<string> = new Set([
  EventType.runSucceeded,
  EventType.runFailed,
  EventType.runCancelled,
]);
/** Polls after the run's status says it ended, waiting for its end event, before the stream ends anyway. */
const END_EVENT_POLLS = 40;
/** How long a stream waits for a client to read a full socket buffer before dropping it. */
const SLOW_CLIENT_MS = 5_000;

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
        const release = deps.streams.acquire(request.headers.authorization ?? '');
        reply.hijack();
        const out = reply.raw;
        out.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        let open = true;
        // The response's close is the client going away (the request's may fire as soon as its body is read).
        out.on('close', () => {
          open = false;
          release();
        });
        // A client that does not read is dropped, not buffered for: a full socket buffer gets a short while to drain.
        const send = async (text: string): Promise<void> => {
          if (!open || out.write(text)) return;
          const drained = await Promise.race([
            once(out, 'drain').then(() => true),
            sleep(SLOW_CLIENT_MS).then(() => false),
          ]);
          if (!drained) {
            open = false;
            out.destroy();
          }
        };
        const sendEvent = (event: EventDocument): Promise<void> =>
          send(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
        try {
          await streamEvents();
        } finally {
          release();
          out.end();
        }
        return reply;

        async function streamEvents(): Promise<void> {
          let ended = false;
          // The run's status is written before its run.succeeded/failed/cancelled event: the stream ends only once
          // that event is sent (or a while after the status says the run ended, should it never come).
          for (let polls = 0; open; polls += 1) {
            const events = await deps.store.listEvents(runId, after, SSE_BATCH);
            for (const event of events) {
              await sendEvent(event);
              after = event.seq;
              if (RUN_END_EVENTS.has(event.type)) ended = true;
            }
            if (events.length === SSE_BATCH) continue;
            if (ended) {
              // Anything written just after the end (delivery bookkeeping) is picked up by one last read.
              for (const event of await deps.store.listEvents(runId, after, SSE_BATCH)) await sendEvent(event);
              return;
            }
            const run = await deps.store.getRun(runId);
            if (!run) return;
            if (isTerminalRunStatus(run.status)) {
              if (polls > END_EVENT_POLLS) return;
            } else {
              polls = 0;
            }
            await send(': keep-alive\n\n');
            await sleep(deps.ssePollMs);
          }
        }
      },
    );
  };
}
