import { useEffect, useRef, useState } from 'preact/hooks';
import type { EventDocument, RunDetail } from '../generated/schemas.js';
import type { ApiClient } from './api-client.js';
import { ApiError } from './api-client.js';

export interface LiveRun {
  detail?: RunDetail;
  events: EventDocument[];
  /** RUN_NOT_FOUND and the like: another owner's run is as absent as a missing one. */
  error?: ApiError | Error;
  /** Read the run again now (after an action). */
  reload: () => void;
}

/**
 * A run kept current: read once, then read again (at most every 150 ms) whenever its event stream says something
 * happened; the stream resumes from the last seq if it drops while the run goes on.
 */
export function useRun(api: ApiClient, runId: string): LiveRun {
  const [detail, setDetail] = useState<RunDetail>();
  const [events, setEvents] = useState<EventDocument[]>([]);
  const [error, setError] = useState<ApiError | Error>();
  const reloadRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    const controller = new AbortController();
    const stopped = () => controller.signal.aborted;
    let pending: ReturnType<typeof setTimeout> | undefined;
    let lastSeq = 0;
    const load = async () => {
      try {
        const loaded = await api.getRun(runId);
        if (!controller.signal.aborted) setDetail(loaded);
        return loaded;
      } catch (failure) {
        if (!controller.signal.aborted) setError(failure as Error);
        return undefined;
      }
    };
    const reloadSoon = () => {
      pending ??= setTimeout(() => {
        pending = undefined;
        void load();
      }, 150);
    };
    reloadRef.current = () => void load();
    setDetail(undefined);
    setEvents([]);
    setError(undefined);
    const follow = async () => {
      const first = await load();
      if (!first) return;
      while (!controller.signal.aborted) {
        try {
          await api.streamEvents(
            runId,
            lastSeq,
            (event) => {
              lastSeq = event.seq;
              setEvents((seen) => [...seen, event]);
              reloadSoon();
            },
            controller.signal,
          );
        } catch (failure) {
          // Leaving the page aborts the stream while it is read: not an error to show.
          if (!stopped()) setError(failure as Error);
          return;
        }
        // The stream ends once the run has ended; had it dropped before, it resumes from the last seq.
        const now = await load();
        if (!now || ['succeeded', 'failed', 'cancelled'].includes(now.run.status)) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    void follow();
    return () => {
      controller.abort();
      if (pending) clearTimeout(pending);
    };
  }, [api, runId]);

  // A runner renews its lease without an event: the run is read again as the lease it was read with runs out, so
  // whether a live runner holds it (and resume is offered) stays true to the store.
  const leaseExpiry = detail?.run.lease?.expires_at;
  useEffect(() => {
    if (!leaseExpiry) return;
    const timer = setTimeout(() => reloadRef.current(), Math.max(0, Date.parse(leaseExpiry) - Date.now()) + 250);
    return () => clearTimeout(timer);
  }, [leaseExpiry]);

  return { ...(detail ? { detail } : {}), events, ...(error ? { error } : {}), reload: () => reloadRef.current() };
}

/** The current time, ticking every second while something runs. */
export function useNow(ticking: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return now;
}
