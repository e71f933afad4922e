import { createHash } from 'node:crypto';
import type { ArtifactDocument, PlanDocument, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { newId } from '../../src/domain/ids.js';

export function makePlanDocument(overrides: Partial<PlanDocument> = {}): PlanDocument {
  const name = overrides.name ?? 'sample';
  return {
    plan_id: newId(),
    name,
    version: createHash('sha256').update(`${name}:${Math.random()}`).digest('hex'),
    owner: 'team-a',
    created_at: new Date().toISOString(),
    steps_spec: { name, steps: [{ id: 'a', uses: 'noop' }] },
    labels: {},
    ...overrides,
  };
}

export function makeRun(overrides: Partial<RunDocument> = {}): RunDocument {
  const runId = overrides.run_id ?? newId();
  return {
    run_id: runId,
    plan_id: newId(),
    plan_version: 'a'.repeat(64),
    plan_name: 'sample',
    status: 'pending',
    created_at: new Date().toISOString(),
    owner: 'team-a',
    inputs: {},
    budget: {},
    usage: { cost: 0 },
    root_run_id: runId,
    provenance: { intelgraph_entity_ids: [], claim_ledger_manifest_ids: [], claim_ledger_manifest_paths: [] },
    labels: {},
    ...overrides,
  };
}

export function makeStep(runId: string, key: string, overrides: Partial<StepDocument> = {}): StepDocument {
  return {
    step_id: newId(),
    run_id: runId,
    key,
    name: key,
    uses: 'noop',
    status: 'pending',
    attempt: 0,
    max_attempts: 1,
    needs: [],
    created_at: new Date().toISOString(),
    ...overrides,
  };
}

export function makeArtifact(runId: string, overrides: Partial<ArtifactDocument> = {}): ArtifactDocument {
  return {
    artifact_id: newId(),
    run_id: runId,
    type: 'report',
    name: 'report.json',
    location: '/tmp/report.json',
    created_at: new Date().toISOString(),
    intelgraph_entity_ids: [],
    metadata: {},
    ...overrides,
  };
}

export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}
