import { useEffect, useRef, useState } from 'preact/hooks';
import type { StepDocument } from '../generated/schemas.js';
import type { ApiClient } from './api-client.js';

/** Longest log kept on the page: the start is dropped past it (the whole log stays on the server). */
const MAX_CHARS = 500_000;

/**
 * The selected step's log: its current attempt read from the start and followed while it runs (the API streams it
 * as the runner writes it); a new attempt starts a new log. Text only: nothing in a log is rendered as markup.
 */
export function LogPane({ api, runId, step }: { api: ApiClient; runId: string; step: StepDocument }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const bottom = useRef<HTMLPreElement>(null);
  const attempt = Math.max(1, step.attempt);
  const started = step.attempt > 0 || step.status !== 'pending';

  useEffect(() => {
    setText('');
    setError('');
    if (!started || step.uses === undefined) return;
    const controller = new AbortController();
    api
      .streamLog(
        runId,
        step.step_id,
        attempt,
        (piece) => setText((had) => (had + piece).slice(-MAX_CHARS)),
        controller.signal,
      )
      .catch((failure: unknown) => {
        if (!controller.signal.aborted) setError(String(failure));
      });
    return () => controller.abort();
  }, [api, runId, step.step_id, attempt, started, step.uses]);

  useEffect(() => {
    const pre = bottom.current;
    if (pre) pre.scrollTop = pre.scrollHeight;
  }, [text]);

  return (
    <section aria-labelledby="log-title" class="log-pane">
      <h2 id="log-title">
        Log of {step.key}
        {step.attempt > 0 ? `, attempt ${step.attempt}` : ''}
      </h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {step.uses === undefined ? (
        <p>A group has no log of its own; choose one of its steps.</p>
      ) : !started ? (
        <p>Not started yet.</p>
      ) : (
        <pre ref={bottom} class="log" tabIndex={0} aria-label={`log of ${step.key}`} aria-live="polite">
          {text || (step.status === 'running' ? 'waiting for output…' : '(no output)')}
        </pre>
      )}
    </section>
  );
}
