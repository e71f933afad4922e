import { isAbsolute, relative } from 'node:path';
import type { RunDetail } from '../../store/port.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const MAESTRO_BUILD_TYPE = 'https://maestro-conductor.dev/attestation/plan-run/v1';

/** A subject's name: the artifact's path relative to the workspace (verify resolves it against --base), or its URL. */
function subjectName(location: string, workspace: string): string {
  if (!isAbsolute(location)) return location;
  const rel = relative(workspace, location);
  return rel.startsWith('..') ? location : rel;
}

/** An in-toto Statement v1 with a SLSA Provenance v1 predicate for a finished run. */
export function buildProvenanceStatement(
  detail: RunDetail,
  workspace: string,
  runnerId: string,
): Record<string, unknown> {
  const { run, steps, artifacts } = detail;
  return {
    _type: STATEMENT_TYPE,
    subject: artifacts
      .filter((a) => a.digest)
      .map((a) => ({ name: subjectName(a.location, workspace), digest: { sha256: a.digest!.sha256 } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: MAESTRO_BUILD_TYPE,
        externalParameters: {
          plan_id: run.plan_id,
          plan_name: run.plan_name,
          plan_version: run.plan_version,
          inputs: run.inputs,
        },
        internalParameters: { owner: run.owner, labels: run.labels },
        resolvedDependencies: [{ uri: `maestro:plan/${run.plan_id}`, digest: { sha256: run.plan_version } }],
      },
      runDetails: {
        builder: { id: `https://maestro-conductor.dev/runner/${encodeURIComponent(runnerId)}` },
        metadata: {
          invocationId: run.run_id,
          startedOn: run.started_at ?? run.created_at,
          finishedOn: run.ended_at ?? run.created_at,
        },
        byproducts: steps.map((step) => ({
          name: step.key,
          annotations: { status: step.status, attempt: step.attempt, uses: step.uses ?? 'group' },
        })),
      },
    },
  };
}
