import type {
  EventDocument,
  Principal,
  ProvenanceCheck,
  RunDetail,
  RunDocument,
  RunPage,
} from '../generated/schemas.js';

/** A problem+json answer of the API, with its stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The API as the console speaks it: every request carries the signed-in token in the Authorization header (never in
 * a URL), answers are JSON or problem+json, and the two streams (run events, a step's log) are read with fetch.
 */
export class ApiClient {
  constructor(private readonly token: string) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    if (!response.ok) {
      const problem = (parsed ?? {}) as { code?: string; detail?: string; title?: string };
      throw new ApiError(
        response.status,
        problem.code ?? 'ERROR',
        problem.detail ?? problem.title ?? response.statusText,
      );
    }
    return parsed as T;
  }

  me(): Promise<Principal> {
    return this.request('GET', '/v1/me');
  }

  listRuns(query: URLSearchParams): Promise<RunPage> {
    return this.request('GET', `/v1/runs?${query.toString()}`);
  }

  getRun(runId: string): Promise<RunDetail> {
    return this.request('GET', `/v1/runs/${encodeURIComponent(runId)}`);
  }

  checkProvenance(runId: string): Promise<ProvenanceCheck> {
    return this.request('GET', `/v1/runs/${encodeURIComponent(runId)}/provenance`);
  }

  cancel(runId: string): Promise<RunDocument> {
    return this.request('POST', `/v1/runs/${encodeURIComponent(runId)}/cancel`);
  }

  resume(runId: string): Promise<RunDocument> {
    return this.request('POST', `/v1/runs/${encodeURIComponent(runId)}/resume`);
  }

  rerun(runId: string, fromStep: string): Promise<RunDocument> {
    return this.request('POST', `/v1/runs/${encodeURIComponent(runId)}/rerun`, { from_step: fromStep, execute: true });
  }

  completeStep(runId: string, stepId: string, status: 'succeeded' | 'failed'): Promise<unknown> {
    const body =
      status === 'succeeded'
        ? { status, outputs: { approved_in: 'console' } }
        : { status, error_message: 'rejected in the console' };
    return this.request('PATCH', `/v1/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}`, body);
  }

  /** The run's events from a seq on, as Server-Sent Events, until the run has ended or `signal` aborts. */
  async streamEvents(runId: string, afterSeq: number, onEvent: (event: EventDocument) => void, signal: AbortSignal) {
    const response = await this.openStream(
      `/v1/runs/${encodeURIComponent(runId)}/events?after_seq=${afterSeq}`,
      signal,
      {
        accept: 'text/event-stream',
      },
    );
    let buffered = '';
    await readText(response, signal, (text) => {
      buffered += text;
      // One event per blank-line-separated block; a block not finished yet waits for the rest.
      const blocks = buffered.split('\n\n');
      buffered = blocks.pop() ?? '';
      for (const block of blocks) {
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice('data: '.length))
          .join('\n');
        if (data) onEvent(JSON.parse(data) as EventDocument);
      }
    });
  }

  /** A step attempt's log from a byte offset, followed while the attempt runs. */
  async streamLog(
    runId: string,
    stepId: string,
    attempt: number,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const path = `/v1/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}/logs?attempt=${attempt}&follow=true`;
    await readText(await this.openStream(path, signal, {}), signal, onText);
  }

  private async openStream(path: string, signal: AbortSignal, headers: Record<string, string>): Promise<Response> {
    const response = await fetch(path, { headers: { authorization: `Bearer ${this.token}`, ...headers }, signal });
    if (!response.ok || !response.body) {
      const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
      throw new ApiError(response.status, problem.code ?? 'ERROR', problem.detail ?? response.statusText);
    }
    return response;
  }
}

async function readText(response: Response, signal: AbortSignal, onText: (text: string) => void): Promise<void> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) return;
      onText(decoder.decode(value, { stream: true }));
    }
  } catch (error) {
    // Leaving the page aborts the stream: that is not an error to show.
    if (!signal.aborted) throw error;
  }
}
