import { constants, realpathSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ArtifactDocument } from '../../generated/schemas.js';
import { isoNow, type Clock } from '../../domain/clock.js';
import { MaestroError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { assertJsonWithin, Limits } from '../../domain/json-limits.js';
import type { EventBus } from '../../events/event-bus.js';
import { EventType } from '../../events/event-types.js';
import type { RunStore } from '../../store/port.js';
import type { ArtifactRequest } from '../executors/step-context.js';
import {
  ArtifactUploadFailure,
  readArtifactFile,
  type ArtifactUpload,
  type ReadArtifactFile,
} from './artifact-upload.js';
import { resolveInWorkspace } from '../trust/workspace-path.js';

/** An artifact as the API and CLI may report it: a digest and size they computed, or a claim-ledger reference. */
export type ReportedArtifact = ArtifactRequest & {
  location?: string;
  digest?: { sha256: string };
  size_bytes?: number;
  claim_ledger_ref?: string;
};

/**
 * Records an artifact of a run: a workspace file (sha256 and size computed by streaming it; with `upload`, its bytes
 * stored in the blob area in the same pass, as `blob_id`) or a URL, then its event. A path outside the workspace is
 * refused; a file a step declared but did not produce fails the step. So is a path into the runner's own files (the
 * workspace's `.maestro/`, its logs, the files its configuration names: `hidden`), whether or not it exists, so that
 * an artifact's digest tells nothing of them; and anything but a regular file (a directory, a FIFO), opened without
 * following a link.
 */
export async function recordArtifact(
  parts: {
    store: RunStore;
    events: EventBus;
    clock: Clock;
    workspace: string;
    hidden?: readonly string[];
    upload?: ArtifactUpload;
  },
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
  let blobId: string | undefined;
  if (!isUrl) {
    const field = request.path ? '$.artifacts.path' : '$.location';
    location = resolveInWorkspace(parts.workspace, rawLocation, field);
    assertNotHidden(location, [join(parts.workspace, '.maestro'), ...(parts.hidden ?? [])], rawLocation, field);
    try {
      const upload = parts.upload && { ...parts.upload, runId };
      const computed = await digestRegularFile(realpathSync(location), rawLocation, field, upload);
      digest = { sha256: computed.sha256 };
      size = computed.size_bytes;
      blobId = computed.blob_id;
    } catch (error) {
      if (error instanceof ArtifactUploadFailure) throw error.failure;
      const code = (error as NodeJS.ErrnoException).code;
      const missing = code === 'ENOENT' || code === 'ENOTDIR';
      if (request.path) {
        const why = missing ? 'was not produced' : `cannot be recorded: ${(error as Error).message}`;
        throw new MaestroError('STEP_FAILED', `artifact file ${rawLocation} ${why}`, {
          retryable: false,
          details: { path: '$.artifacts.path', got: rawLocation },
        });
      }
      if (error instanceof MaestroError) throw error;
      if (!missing)
        throw new MaestroError('PATH_FORBIDDEN', `${field}: "${rawLocation}" cannot be read by the runner`, {
          details: { path: field, got: rawLocation },
        });
      // Missing: recorded as reported (a file to come, or one on another machine).
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
    ...(blobId ? { blob_id: blobId } : {}),
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

function isAtOrUnder(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || !(rel === '..' || rel.startsWith('../') || isAbsolute(rel));
}

/** A path as written and where its links lead (the hidden file or the artifact path may be a link, or missing). */
function formsOf(path: string): string[] {
  const absolute = resolve(path);
  const missing: string[] = [];
  for (let cursor = absolute; dirname(cursor) !== cursor; cursor = dirname(cursor)) {
    try {
      return [absolute, join(realpathSync(cursor), ...missing.reverse())];
    } catch {
      missing.push(basename(cursor));
    }
  }
  return [absolute];
}

/** PATH_FORBIDDEN for a path at or under one of the runner's own files, in the same words whether it exists or not. */
export function assertNotHidden(path: string, hidden: readonly string[], asGiven: string, field: string): void {
  const targets = formsOf(path);
  if (hidden.some((entry) => formsOf(entry).some((form) => targets.some((target) => isAtOrUnder(form, target)))))
    throw new MaestroError('PATH_FORBIDDEN', `${field}: "${asGiven}" is one of the runner's own files`, {
      details: { path: field, expected: "a file of the workspace outside .maestro/ and the runner's configuration" },
    });
}

/**
 * sha256 and size of a regular file (its real path), read through one descriptor opened without following a link
 * (one swapped in after the checks is refused, not read) and without blocking (a FIFO is refused, not waited on);
 * with `upload`, stored as a blob in the same pass.
 */
async function digestRegularFile(
  path: string,
  asGiven: string,
  field: string,
  upload: (ArtifactUpload & { runId: string }) | undefined,
): Promise<ReadArtifactFile> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ELOOP') throw notRegular(asGiven, field, 'a symbolic link');
      throw error;
    },
  );
  try {
    const info: Stats = await handle.stat();
    if (!info.isFile()) throw notRegular(asGiven, field, info.isDirectory() ? 'a directory' : 'not a regular file');
    return await readArtifactFile(handle, { asGiven, field, sizeAtOpen: info.size }, upload);
  } finally {
    await handle.close();
  }
}

function notRegular(asGiven: string, field: string, what: string): MaestroError {
  return new MaestroError('INPUT_INVALID', `${field}: "${asGiven}" is ${what}; an artifact is a regular file`, {
    details: { path: field, expected: 'a regular file', got: what },
  });
}
