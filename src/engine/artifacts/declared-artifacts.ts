import { recordArtifact } from './artifact-recording.js';
import type { StepAttempt } from '../attempts/step-attempt.js';

/**
 * The artifacts a step declares in its plan, recorded once it has succeeded: a missing file fails the attempt. A
 * declared file's bytes are stored in the store's blob area as its digest is computed (`blob_id`), so a step on
 * another machine can have it written into its workspace (artifacts_in); past the runner's maximum artifact size
 * the attempt fails ARTIFACT_TOO_LARGE and nothing of the file is kept.
 */
export async function attachDeclaredArtifacts({ services, run, step, compiled }: StepAttempt): Promise<void> {
  const { store, events, clock, workspace, artifacts } = services;
  const parts = {
    store,
    events,
    clock,
    workspace,
    hidden: artifacts.hidden,
    upload: { blobs: store.blobs, maxBytes: artifacts.maxBytes },
  };
  for (const spec of compiled.spec.artifacts ?? []) {
    await recordArtifact(
      parts,
      run.run_id,
      {
        type: spec.type,
        ...(spec.name ? { name: spec.name } : {}),
        ...(spec.path ? { path: spec.path } : {}),
        ...(spec.url ? { url: spec.url } : {}),
        ...(spec.media_type ? { media_type: spec.media_type } : {}),
      },
      step.step_id,
    );
  }
}
