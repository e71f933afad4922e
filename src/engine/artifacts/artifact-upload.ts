import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { isMaestroError, MaestroError, toMaestroError } from '../../domain/errors.js';
import type { RunStore } from '../../store/port.js';

/** A runner stores no artifact file larger than this unless told otherwise (EngineOptions.maxArtifactBytes). */
export const DEFAULT_MAX_ARTIFACT_BYTES = 1024 ** 3;

/** Where a runner stores the declared artifact files of its steps, and how large one may be. */
export interface ArtifactUpload {
  blobs: RunStore['blobs'];
  maxBytes: number;
}

/** What a file artifact's bytes came to: its digest and size, and its blob when it was stored. */
export interface ReadArtifactFile {
  sha256: string;
  size_bytes: number;
  blob_id?: string;
}

/** A failure of storing the file (not of reading it): recorded as it is, never turned into "cannot be recorded". */
export class ArtifactUploadFailure extends Error {
  constructor(readonly failure: MaestroError) {
    super(failure.message);
  }
}

export function artifactTooLarge(asGiven: string, field: string, size: number | string, maxBytes: number) {
  return new MaestroError(
    'ARTIFACT_TOO_LARGE',
    `artifact file ${asGiven} holds ${size} bytes, more than this runner's maximum artifact size of ${maxBytes} bytes (MAESTRO_MAX_ARTIFACT_BYTES)`,
    { retryable: false, details: { path: field, got: asGiven, limit: maxBytes } },
  );
}

/**
 * Reads an opened regular file once: its sha256 and size and, with `upload`, its bytes into the store's blob area as
 * they are read, filed under the run (pruning the run removes them). The blob's digest must be the one computed
 * here from the same bytes, or the blob is removed and the artifact is not recorded.
 */
export async function readArtifactFile(
  handle: FileHandle,
  file: { asGiven: string; field: string; sizeAtOpen: number },
  upload: (ArtifactUpload & { runId: string }) | undefined,
): Promise<ReadArtifactFile> {
  const hash = createHash('sha256');
  let size = 0;
  const pieces = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of handle.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  };
  if (!upload) {
    for await (const chunk of handle.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    return { sha256: hash.digest('hex'), size_bytes: size };
  }
  const { asGiven, field } = file;
  if (file.sizeAtOpen > upload.maxBytes)
    throw new ArtifactUploadFailure(artifactTooLarge(asGiven, field, file.sizeAtOpen, upload.maxBytes));
  const blob = await upload.blobs
    .putBlob(pieces(), { name: asGiven, maxBytes: upload.maxBytes, runId: upload.runId })
    .catch((error: unknown) => {
      throw new ArtifactUploadFailure(
        isMaestroError(error, 'BLOB_TOO_LARGE')
          ? artifactTooLarge(asGiven, field, `over ${upload.maxBytes}`, upload.maxBytes)
          : toMaestroError(error, 'STEP_FAILED'),
      );
    });
  const sha256 = hash.digest('hex');
  if (blob.sha256 !== sha256 || blob.size_bytes !== size) {
    await upload.blobs.removeRunData([], [blob.blob_id]).catch(() => 0);
    throw new ArtifactUploadFailure(
      new MaestroError(
        'ARTIFACT_DIGEST_MISMATCH',
        `artifact file ${asGiven}: the store took ${blob.size_bytes} bytes with sha256 ${blob.sha256}, the file read ${size} bytes with sha256 ${sha256}`,
        { retryable: false, details: { path: field, expected: sha256, got: blob.sha256 } },
      ),
    );
  }
  return { sha256, size_bytes: size, blob_id: blob.blob_id };
}
