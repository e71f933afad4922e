import type { FastifyPluginAsync } from 'fastify';
import { checkRunProvenance } from '../../hooks/provenance-check.js';
import { callerAndRun, onRun, ref, type ApiDeps } from '../api-deps.js';

/** `GET /v1/runs/{run_id}/provenance`: the run's ledger manifests and attestation, verified now on this server. */
export function provenanceRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { run_id: string } }>(
      '/v1/runs/:run_id/provenance',
      onRun(
        "Verify a run's claim-ledger manifests and signed attestation, as `maestro ledger verify` and `maestro verify` do",
        'runs',
        {
          response: { 200: ref('api/provenance-check.schema.json') },
        },
      ),
      async (request) => {
        const { run } = await callerAndRun(deps, request, 'reader');
        return checkRunProvenance(run, deps.engine.workspaceDirectory);
      },
    );
  };
}
