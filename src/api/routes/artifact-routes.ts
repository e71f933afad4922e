import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { ArtifactDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { callerAndRun, onRun, type ApiDeps } from '../api-deps.js';

/** A file name for Content-Disposition: the artifact's name, its quotes and controls (and anything not ASCII) left out. */
function dispositionOf(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * The blob's bytes as they stream out, hashed on the way, one piece behind: the last piece goes out only once the
 * whole content has the recorded size and sha256. Otherwise the stream fails there, and the client gets a response
 * cut short of its Content-Length, never a whole body with other bytes.
 */
async function* checkedContent(
  blob: AsyncIterable<Buffer>,
  artifact: ArtifactDocument & { digest: { sha256: string } },
): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  const expectedSize = artifact.size_bytes ?? 0;
  let size = 0;
  let held: Buffer | undefined;
  for await (const chunk of blob) {
    size += chunk.length;
    if (size > expectedSize) break;
    hash.update(chunk);
    if (held) yield held;
    held = chunk;
  }
  const sha256 = hash.digest('hex');
  if (size !== expectedSize || sha256 !== artifact.digest.sha256)
    throw new MaestroError(
      'ARTIFACT_DIGEST_MISMATCH',
      `the stored content of artifact ${artifact.artifact_id} is not what was recorded (sha256 ${artifact.digest.sha256})`,
      { details: { expected: artifact.digest.sha256, got: sha256 } },
    );
  if (held) yield held;
}

/**
 * An artifact's content, streamed from the store's blob area (wherever the step that produced it ran), under the
 * same ownership as its run. Always sent as a download (application/octet-stream, Content-Disposition: attachment),
 * never rendered as what it says it is; its sha256 is in `X-Artifact-Sha256` and `Repr-Digest` (RFC 9530).
 */
export function artifactRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { run_id: string; artifact_id: string } }>(
      '/v1/runs/:run_id/artifacts/:artifact_id/content',
      onRun(
        "An artifact's stored bytes, streamed, with their sha256 in X-Artifact-Sha256; 404 ARTIFACT_UNAVAILABLE for an artifact without stored content (a URL, or attached over the API)",
        'artifacts',
        {
          ids: ['artifact_id'],
          response: { 200: { type: 'string', contentMediaType: 'application/octet-stream' } },
        },
      ),
      async (request, reply) => {
        const { run } = await callerAndRun(deps, request, 'reader');
        const artifactId = request.params.artifact_id;
        const artifact = (await deps.store.listArtifacts(run.run_id)).find((a) => a.artifact_id === artifactId);
        if (!artifact)
          throw new MaestroError('ARTIFACT_NOT_FOUND', `run ${run.run_id} has no artifact ${artifactId}`, {
            details: { path: '$.artifact_id' },
          });
        const digest = artifact.digest;
        const blob = artifact.blob_id && digest ? await deps.store.blobs.openBlob(artifact.blob_id) : undefined;
        if (!blob || !digest)
          throw new MaestroError(
            'ARTIFACT_UNAVAILABLE',
            `artifact ${artifactId} has no content in the store (${artifact.blob_id ? 'it was removed' : 'only its location was recorded'})`,
            { details: { path: '$.artifact_id', got: artifact.location } },
          );
        reply.headers({
          'content-type': 'application/octet-stream',
          'content-disposition': dispositionOf(artifact.name),
          'x-content-type-options': 'nosniff',
          'content-length': String(artifact.size_bytes ?? 0),
          'x-artifact-sha256': digest.sha256,
          'repr-digest': `sha-256=:${Buffer.from(digest.sha256, 'hex').toString('base64')}:`,
        });
        // A HEAD request gets the headers without the blob being read.
        if (request.method === 'HEAD') return reply.send();
        return reply.send(Readable.from(checkedContent(blob, { ...artifact, digest })));
      },
    );
  };
}
