import { lineageFileOf } from '../../domain/lineage-file.js';
import type { HookHandler, ProvenanceHook } from '../../events/hook-api.js';
import type { EventType } from '../../events/event-types.js';
import { lineageRunId } from './lineage-ids.js';
import { runJob, toLineageEvent, type LineageEventType } from './lineage-events.js';
import { createLineageTransport, type LineageTransportConfig } from './lineage-transport.js';

export interface OpenLineageOptions {
  /** Default: JSON lines in `<workspace>/.maestro/openlineage/<run_id>.jsonl`. */
  transport?: LineageTransportConfig;
  namespace?: string;
}

const stepEventTypes: Partial<Record<EventType, LineageEventType>> = {
  'step.started': 'START',
  'step.retrying': 'RUNNING',
  'step.succeeded': 'COMPLETE',
  'step.failed': 'FAIL',
  'step.cancelled': 'ABORT',
};
const runEventTypes: Partial<Record<EventType, LineageEventType>> = {
  'run.started': 'START',
  'run.succeeded': 'COMPLETE',
  'run.failed': 'FAIL',
  'run.cancelled': 'ABORT',
};

/** The built-in `openlineage` hook: OpenLineage RunEvents for runs and steps, with parent facets and artifacts as outputs. */
export function openLineageHook(options: OpenLineageOptions = {}): ProvenanceHook {
  const namespace = options.namespace ?? 'maestro';
  const fixedTransport = options.transport ? createLineageTransport(options.transport) : undefined;

  const handler: HookHandler = async (event, context) => {
    const lineageType = event.step_id ? stepEventTypes[event.type] : runEventTypes[event.type];
    if (!lineageType) return;
    const detail = await context.getRunDetail(event.run_id);
    if (!detail) return;
    const step = event.step_id ? detail.steps.find((s) => s.step_id === event.step_id) : undefined;
    if (event.step_id && !step) return;
    const artifacts =
      lineageType === 'COMPLETE' ? detail.artifacts.filter((a) => (step ? a.step_id === step.step_id : true)) : [];
    let parent;
    if (!step && detail.run.parent_run_id) {
      const parentRun = await context.getRunDetail(detail.run.parent_run_id);
      const parentStep = parentRun?.steps.find((s) => s.step_id === detail.run.parent_step_id);
      if (parentRun && parentStep)
        parent = {
          runId: lineageRunId(parentStep.step_id),
          job: { namespace, name: `${runJob(parentRun.run, namespace).name}.${parentStep.key}` },
        };
    }
    const transport =
      fixedTransport ?? createLineageTransport({ type: 'file', path: lineageFileOf(context.workspace, event.run_id) });
    await transport(
      toLineageEvent(
        { event, run: detail.run, ...(step ? { step } : {}), artifacts, ...(parent ? { parent } : {}), namespace },
        lineageType,
      ),
    );
  };
  return { name: 'openlineage', on: { '*': handler } };
}
