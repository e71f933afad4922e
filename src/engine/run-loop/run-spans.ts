import type { RunDocument, StepDocument } from '../../generated/schemas.js';
import {
  contextOfTraceparent,
  contextWith,
  maestroTracer,
  SpanStatusCode,
  traceparentOf,
  type Context,
  type Span,
} from '../../domain/trace-context.js';

/**
 * The spans of one run in this process: the run's, one per step (from its start to its end, across retries) and
 * one per attempt, each under its parent: nested steps under their group, attempts under their step, a child
 * run's span under the attempt of its `plan` step. A runner that resumes a run continues the trace the first
 * runner stored on it (`traceparent`).
 */
export class RunSpans {
  private run: Span | undefined;
  private runContext: Context;
  private readonly steps = new Map<string, { span: Span; context: Context }>();
  private readonly attempts = new Map<string, Span>();

  constructor(
    private readonly doc: RunDocument,
    private readonly parentOf: (step: StepDocument) => StepDocument | undefined,
  ) {
    this.runContext = contextOfTraceparent(doc.traceparent ?? doc.trace_parent);
  }

  /** The context the run's work runs in: its span once started, else where it would hang. */
  get context(): Context {
    return this.runContext;
  }

  /** Starts the run's span here; returns its traceparent when this is the run's first one (to store on it). */
  startRun(plan: string, resumed: boolean): string | undefined {
    const parent = this.runContext;
    this.run = maestroTracer().startSpan(
      `maestro.run ${plan}`,
      { attributes: { 'maestro.run_id': this.doc.run_id, 'maestro.plan': plan, 'maestro.resumed': resumed } },
      parent,
    );
    this.runContext = contextWith(this.run, parent);
    return this.doc.traceparent ? undefined : traceparentOf(this.run);
  }

  endRun(status: string, cost: number, error?: string): void {
    this.run?.setAttributes({ 'maestro.status': status, 'maestro.cost': cost });
    if (error) this.run?.setStatus({ code: SpanStatusCode.ERROR, message: error });
    for (const span of this.attempts.values()) span.end();
    for (const { span } of this.steps.values()) span.end();
    this.run?.end();
    this.run = undefined;
  }

  /** The span of a step that starts running here (a group, a fanout, or a leaf's first claim in this process). */
  startStep(doc: StepDocument): Context {
    const open = this.steps.get(doc.key);
    if (open) return open.context;
    const parentStep = this.parentOf(doc);
    const parent = (parentStep && this.steps.get(parentStep.key)?.context) ?? this.runContext;
    const span = maestroTracer().startSpan(
      `maestro.step ${doc.key}`,
      {
        attributes: {
          'maestro.run_id': doc.run_id,
          'maestro.step_key': doc.key,
          'maestro.step_kind': doc.uses ?? 'group',
        },
      },
      parent,
    );
    const context = contextWith(span, parent);
    this.steps.set(doc.key, { span, context });
    return context;
  }

  endStep(doc: StepDocument): void {
    const open = this.steps.get(doc.key);
    if (!open) return;
    open.span.setAttributes({ 'maestro.status': doc.status, 'maestro.cost': doc.cost ?? 0 });
    if (doc.status === 'failed') open.span.setStatus({ code: SpanStatusCode.ERROR, message: doc.error_info?.message });
    open.span.end();
    this.steps.delete(doc.key);
  }

  /** An attempt's span under its step's; its context is what the executor runs in, its traceparent what it gets. */
  startAttempt(doc: StepDocument): { context: Context; traceparent: string | undefined } {
    const parent = this.startStep(doc);
    const span = maestroTracer().startSpan(
      `maestro.attempt ${doc.key}`,
      { attributes: { 'maestro.run_id': doc.run_id, 'maestro.step_key': doc.key, 'maestro.attempt': doc.attempt } },
      parent,
    );
    this.attempts.set(doc.key, span);
    return { context: contextWith(span, parent), traceparent: traceparentOf(span) };
  }

  endAttempt(key: string, outcome: string, cost: number, error?: string): void {
    const span = this.attempts.get(key);
    if (!span) return;
    span.setAttributes({ 'maestro.outcome': outcome, 'maestro.cost': cost });
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
    this.attempts.delete(key);
  }
}
