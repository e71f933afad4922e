import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { createHarness } from '../support/engine-harness.js';
import { startTestApi } from '../support/api-server.js';
import { REPO_ROOT } from '../support/spawn-cli.js';

// This file's process has the SDK registered, with every finished span kept in memory.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
afterAll(() => provider.shutdown());
beforeEach(() => exporter.reset());

const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const one = (spans: ReadableSpan[], name: string) => {
  const found = named(spans, name);
  expect(found.map((span) => span.name)).toEqual([name]);
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;

describe('traces', () => {
  it('fan-out is one trace: a root run span, steps under it, foreach copies under their group, attempts under steps, the child run under its plan step', async () => {
    const h = createHarness(await openStore('memory://', { traced: true }));
    const planDoc = await h.engine.applyPlanFile(join(REPO_ROOT, 'plans', 'fan-out.json'));
    const { run } = await h.engine.startRun(planDoc, { inputs: { images: ['api', 'web'] } });
    expect(await h.engine.executeRun(run.run_id)).toMatchObject({ status: 'succeeded' });
    const spans = exporter.getFinishedSpans();

    const roots = spans.filter((span) => span.parentSpanContext === undefined);
    expect(roots.map((span) => span.name)).toEqual(['maestro.run fan-out']);
    const root = roots[0]!;
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([root.spanContext().traceId]));
    expect(root.attributes).toMatchObject({ 'maestro.run_id': run.run_id, 'maestro.status': 'succeeded' });
    expect((await h.store.getRun(run.run_id))?.traceparent).toBe(`00-${root.spanContext().traceId}-${idOf(root)}-01`);

    const group = one(spans, 'maestro.step per-image');
    const summary = one(spans, 'maestro.step summary');
    expect([parentOf(group), parentOf(summary)]).toEqual([idOf(root), idOf(root)]);
    for (const index of [0, 1]) {
      const copy = one(spans, `maestro.step per-image[${index}]`);
      expect(parentOf(copy)).toBe(idOf(group));
      for (const nested of ['scan', 'sign']) {
        const step = one(spans, `maestro.step per-image[${index}].${nested}`);
        expect(parentOf(step)).toBe(idOf(copy));
        expect(parentOf(one(spans, `maestro.attempt per-image[${index}].${nested}`))).toBe(idOf(step));
      }
    }
    const summaryAttempt = one(spans, 'maestro.attempt summary');
    expect(parentOf(summaryAttempt)).toBe(idOf(summary));
    const child = one(spans, 'maestro.run fan-out-summary');
    expect(parentOf(child)).toBe(idOf(summaryAttempt));
    // Store calls of the drive nest under the run (or a step attempt), never start traces of their own.
    const storeSpans = spans.filter((span) => span.name.startsWith('maestro.store '));
    expect(storeSpans.length).toBeGreaterThan(0);
    const traced = new Set(spans.map(idOf));
    expect(storeSpans.filter((span) => !traced.has(parentOf(span)!))).toEqual([]);
  });

  it('records retries as sibling attempts under one step, and an exec step gets the run trace as TRACEPARENT', async () => {
    const h = createHarness(await openStore('memory://'));
    h.engine.registerHandler('flaky', ({ attempt }) => {
      if (attempt === 1) throw new Error('not yet');
      return { ok: true };
    });
    const { run, steps } = await h.runPlan({
      name: 'traced',
      steps: [
        { id: 'flaky', uses: 'handler', with: { handler: 'flaky' }, retry: { max_attempts: 2, backoff_ms: 1 } },
        {
          id: 'show',
          uses: 'exec',
          needs: ['flaky'],
          with: { command: ['node', '-e', 'console.log(JSON.stringify({ tp: process.env.TRACEPARENT }))'] },
        },
      ],
    });
    expect(run.status).toBe('succeeded');
    const spans = exporter.getFinishedSpans();
    const step = one(spans, 'maestro.step flaky');
    const attempts = named(spans, 'maestro.attempt flaky');
    expect(attempts.map((span) => [span.attributes['maestro.attempt'], span.attributes['maestro.outcome']])).toEqual([
      [1, 'retried'],
      [2, 'succeeded'],
    ]);
    expect(attempts.map(parentOf)).toEqual([idOf(step), idOf(step)]);
    const traceId = run.traceparent!.split('-')[1];
    const showAttempt = one(spans, 'maestro.attempt show');
    expect(steps.show!.outputs).toEqual({ tp: `00-${traceId}-${idOf(showAttempt)}-01` });
  });

  it('POST /v1/runs continues the trace of an incoming traceparent', async () => {
    const store = await openStore('memory://');
    const api = await startTestApi(store);
    try {
      const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const callerSpan = '00f067aa0ba902b7';
      const plan = await api.request('POST', '/v1/plans', {
        body: { plan: { name: 'called', steps: [{ id: 'a', uses: 'noop' }] } },
      });
      const started = await api.request('POST', '/v1/runs', {
        body: { plan_id: (plan.body as { plan: { plan_id: string } }).plan.plan_id },
        headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` },
      });
      const runId = (started.body as { run_id: string }).run_id;
      expect((await store.getRun(runId))?.trace_parent).toBe(`00-${callerTrace}-${callerSpan}-01`);
      await api.engine.executeRun(runId);
      const runSpan = one(exporter.getFinishedSpans(), 'maestro.run called');
      expect(runSpan.spanContext().traceId).toBe(callerTrace);
      expect(parentOf(runSpan)).toBe(callerSpan);
    } finally {
      await api.close();
    }
  });
});
