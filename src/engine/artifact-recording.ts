import { basename } from 'node:path';
import type { ArtifactDocument } from '../generated/schemas.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { MaestroError } from '../domain/errors.js';
import { digestFile } from '../domain/file-digest.js';
import { newId } from '../domain/ids.js';
import { assertJsonWithin, Limits } from '../domain/json-limits.js';
import type { EventBus } from '../events/event-bus.js';
import { EventType } from '../events/event-types.js';
import type { RunStore } from '../store/port.js';
import type { ArtifactRequest } from './step-context.js';
import { resolveInWorkspace } from './workspace-path.js';

/** An artifact as the API and CLI may report it: a digest and size they computed, or a claim-ledger reference. */
export type ReportedArtifact = ArtifactRequest & {
  location?: string;
  digest?: { sha256: string };
  size_bytes?: number;
  claim_ledger_ref?: string;
};

/**
 * Records an artifact of a run: a workspace file (sha256 and size computed by streaming it) or a URL, then its
 * event. A path outside the workspace is refused; a file a step declared but did not produce fails the step.
 */
export async function recordArtifact(
  parts: { store: RunStore; events: EventBus; clock: Clock; workspace: string },
  runId: string,
  request: ReportedArtifact,
  stepId?: string,
): Promise<ArtifactDocument> {
  if (request.metadata)
    assertJsonWithin(request.metadata, { maxDepth: Limits.jsonDepth, maxBytes: Limits.metadataBytes }, '$.metadata');
  const rawLocation = request.url ?? request.path ?? request.location;
  if (!rawLocation)
    throw new MaestroError('INPUT_INVALID', 'an artifact needs a path or a URL', { details: { path: '$.location' } });
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawLocation);
  let location = rawLocation;
  let digest = request.digest;
  let size = request.size_bytes;
  if (!isUrl) {
    location = resolveInWorkspace(parts.workspace, rawLocation, request.path ? '$.artifacts.path' : '$.location');
    try {
      const computed = await digestFile(location);
      digest = { sha256: computed.sha256 };
      size = computed.size_bytes;
    } catch (error) {
      if (request.path) {
        throw new MaestroError('STEP_FAILED', `artifact file ${rawLocation} was not produced`, {
          retryable: false,
          details: { path: '$.artifacts.path', got: rawLocation },
        });
      }
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const artifact: ArtifactDocument = {
    artifact_id: newId(),
    run_id: runId,
    ...(stepId ? { step_id: stepId } : {}),
    type: request.type,
    name: request.name ?? (basename(isUrl ? new URL(rawLocation).pathname : location) || 'artifact'),
    location,
    ...(digest ? { digest } : {}),
    ...(size !== undefined ? { size_bytes: size } : {}),
    ...(request.media_type ? { media_type: request.media_type } : {}),
    ...(request.claim_ledger_ref ? { claim_ledger_ref: request.claim_ledger_ref } : {}),
    intelgraph_entity_ids: request.intelgraph_entity_ids ?? [],
    created_at: isoNow(parts.clock),
    metadata: request.metadata ?? {},
  };
  await parts.store.attachArtifact(artifact);
  const data = {
    artifact_id: artifact.artifact_id,
    name: artifact.name,
    type: artifact.type,
    location,
    ...(digest ? { sha256: digest.sha256 } : {}),
  };
  await parts.events.record(runId, EventType.artifactAttached, data, stepId);
  return artifact;
}
