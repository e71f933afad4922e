import { isAbsolute } from 'node:path';
import type { ArtifactDocument, EventDocument, RunDocument, StepDocument } from '../../generated/schemas.js';
import { lineageRunId } from './lineage-ids.js';

export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
export const MAESTRO_PRODUCER = 'https://maestro-conductor.dev/producer/0.1.0';
const FACETS = {
  parent: 'https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet',
  errorMessage: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  processingEngine:
    'https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
};

export type LineageEventType = 'START' | 'RUNNING' | 'COMPLETE' | 'FAIL' | 'ABORT';

export interface LineageJobRef {
  namespace: string;
  name: string;
}

export interface LineageSource {
  event: EventDocument;
  run: RunDocument;
  /** The step of a step event. */
  step?: StepDocument;
  /** Artifacts to report as output datasets. */
  artifacts: ArtifactDocument[];
  /** For a child run: the run and job of the parent step. */
  parent?: { runId: string; job: LineageJobRef };
  namespace: string;
}

function facet(schemaUrl: string, body: Record<string, unknown>): Record<string, unknown> {
  return { _producer: MAESTRO_PRODUCER, _schemaURL: schemaUrl, ...body };
}

/** An artifact as an OpenLineage dataset: files in the `file` namespace, URLs under their origin. */
export function artifactDataset(artifact: ArtifactDocument): { namespace: string; name: string } {
  if (isAbsolute(artifact.location)) return { namespace: 'file', name: artifact.location };
  try {
    const url = new URL(artifact.location);
    return { namespace: `${url.protocol}//${url.host}`, name: url.pathname };
  } catch {
    return { namespace: 'file', name: artifact.location };
  }
}

export function runJob(run: RunDocument, namespace: string): LineageJobRef {
  return { namespace, name: run.plan_name };
}

/**
 * A Maestro event as an OpenLineage RunEvent. A run is a job run of its plan; a step is a job run of
 * `<plan>.<step key>` whose parent facet points at the run; a child run's parent facet points at its plan step.
 */
export function toLineageEvent(source: LineageSource, eventType: LineageEventType): Record<string, unknown> {
  const { event, run, step, namespace } = source;
  const isStep = step !== undefined;
  const job = isStep ? { namespace, name: `${run.plan_name}.${step.key}` } : runJob(run, namespace);
  const runFacets: Record<string, unknown> = {
    processing_engine: facet(FACETS.processingEngine, { name: 'Maestro Conductor', version: '0.1.0' }),
  };
  const parent = isStep ? { runId: lineageRunId(run.run_id), job: runJob(run, namespace) } : source.parent;
  if (parent) {
    runFacets.parent = facet(FACETS.parent, {
      run: { runId: parent.runId },
      job: parent.job,
      root: { run: { runId: lineageRunId(run.root_run_id) }, job: parent.job },
    });
  }
  const error = (isStep ? step.error_info : run.error_info) ?? (event.data.error as { message?: string } | undefined);
  if ((eventType === 'FAIL' || eventType === 'RUNNING') && error?.message) {
    runFacets.errorMessage = facet(FACETS.errorMessage, { message: error.message, programmingLanguage: 'JavaScript' });
  }
  return {
    eventTime: event.at,
    producer: MAESTRO_PRODUCER,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
    eventType,
    run: { runId: lineageRunId(isStep ? step.step_id : run.run_id), facets: runFacets },
    job: {
      ...job,
      facets: {
        jobType: facet(FACETS.jobType, {
          processingType: 'BATCH',
          integration: 'MAESTRO',
          jobType: isStep ? 'TASK' : 'DAG',
        }),
      },
    },
    inputs: [],
    outputs: source.artifacts.map(artifactDataset),
  };
}
