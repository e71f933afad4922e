import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactDocument, Plan } from '../../src/generated/schemas.js';
import { skipUnavailable, testBackends, type TestBackend } from '../support/backends.js';
import { tamperWithBlob } from '../support/blob-tamper.js';
import { startTestApi, TOKENS, type ApiClient } from '../support/api-server.js';

const plan: Plan = {
  name: 'produces',
  steps: [
    {
      id: 'produce',
      uses: 'noop',
      artifacts: [
        { type: 'report', path: 'out/report.bin', name: 'report "q1".bin' },
        { type: 'document', url: 'https://example.com/readme', name: 'readme' },
      ],
    },
  ],
};

describe.each(testBackends().filter((backend) => backend.shared))(
  'GET /v1/runs/:run_id/artifacts/:artifact_id/content on $name',
  (backend: TestBackend) => {
    skipUnavailable(backend);
    let api: ApiClient;
    let url: string;
    let bytes: Buffer;
    let runId: string;
    let artifacts: ArtifactDocument[];

    beforeEach(async () => {
      const created = await backend.create();
      url = created.url;
      api = await startTestApi(created.store);
      bytes = randomBytes(400_000);
      mkdirSync(join(api.workspace, 'out'));
      writeFileSync(join(api.workspace, 'out/report.bin'), bytes);
      const { plan: planDoc } = await api.engine.applyPlan(plan, { owner: 'team-a' });
      const { run } = await api.engine.startRun(planDoc, { owner: 'team-a' });
      await api.engine.executeRun(run.run_id);
      runId = run.run_id;
      artifacts = await created.store.listArtifacts(runId);
      return async () => {
        await api.close();
        await created.cleanup();
      };
    });

    const contentPath = (artifactId: string, run = runId) => `/v1/runs/${run}/artifacts/${artifactId}/content`;
    const report = () => artifacts.find((a) => a.blob_id !== undefined)!;
    const get = (path: string, token: string = TOKENS.teamAReader) =>
      fetch(`${api.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });

    it("streams the stored bytes as a download with their sha256, to the run owner's readers", async () => {
      const response = await get(contentPath(report().artifact_id));
      expect(response.status).toBe(200);
      const body = Buffer.from(await response.arrayBuffer());
      expect(body.equals(bytes)).toBe(true);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      expect(response.headers.get('x-artifact-sha256')).toBe(sha256);
      expect(response.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`);
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      expect(response.headers.get('content-length')).toBe(String(bytes.length));
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      // The name's quotes do not end the header's quoted file name.
      expect(response.headers.get('content-disposition')).toBe(
        `attachment; filename="report _q1_.bin"; filename*=UTF-8''${encodeURIComponent('report "q1".bin')}`,
      );
      const head = await fetch(`${api.baseUrl}${contentPath(report().artifact_id)}`, {
        method: 'HEAD',
        headers: { authorization: `Bearer ${TOKENS.teamAReader}` },
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('x-artifact-sha256')).toBe(sha256);
    });

    it('answers as the other run routes do: 401 without a token, 404 for another owner and unknown ids', async () => {
      const path = contentPath(report().artifact_id);
      expect((await fetch(`${api.baseUrl}${path}`)).status).toBe(401);
      const foreign = await get(path, TOKENS.teamB);
      expect(foreign.status).toBe(404);
      expect(await foreign.json()).toMatchObject({ code: 'RUN_NOT_FOUND' });
      const unknown = await get(contentPath('01ARZ3NDEKTSV4RRFFQ69G5FAV'));
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toContain('application/problem+json');
      expect(await unknown.json()).toMatchObject({ code: 'ARTIFACT_NOT_FOUND' });
      expect((await get(`/v1/runs/${runId}/artifacts/not-an-id/content`)).status).toBe(400);
    });

    it('answers 404 ARTIFACT_UNAVAILABLE for an artifact without stored content (a URL)', async () => {
      const readme = artifacts.find((a) => a.name === 'readme')!;
      const response = await get(contentPath(readme.artifact_id));
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'ARTIFACT_UNAVAILABLE' });
    });

    it('cuts the download short when a stored byte changed', async () => {
      await tamperWithBlob(url, report().blob_id!);
      const response = await get(contentPath(report().artifact_id));
      expect(response.status).toBe(200);
      // The body ends before its Content-Length: fetch fails reading it.
      await expect(response.arrayBuffer()).rejects.toThrow();
    });

    it('is in the OpenAPI document as an octet-stream answer', async () => {
      const document = (await api.request('GET', '/openapi.json', { token: null })).body;
      const operation = document.paths['/v1/runs/{run_id}/artifacts/{artifact_id}/content'].get;
      expect(Object.keys(operation.responses['200'].content)).toEqual(['application/octet-stream']);
      expect(operation.parameters.map((p: { name: string }) => p.name)).toEqual(['run_id', 'artifact_id']);
    });
  },
);
