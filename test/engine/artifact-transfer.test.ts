import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactDocument, Plan } from '../../src/generated/schemas.js';
import type { RunStore } from '../../src/store/port.js';
import type { EngineOptions } from '../../src/engine/engine.js';
import { skipUnavailable, testBackends, type TestBackend } from '../support/backends.js';
import { tamperWithBlob } from '../support/blob-tamper.js';
import { createHarness, type Harness } from '../support/engine-harness.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Every byte of a blob, read back through the store. */
async function blobBytes(store: RunStore, blobId: string): Promise<Buffer> {
  const blob = await store.blobs.openBlob(blobId);
  if (!blob) throw new Error(`no blob ${blobId}`);
  const chunks: Buffer[] = [];
  for await (const chunk of blob) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** produce declares out/report.csv as `report`; consume gets it at in/data/report.csv and reports what it read. */
function transferPlan(between: Plan['steps'] = []): Plan {
  const consumeNeeds = between.length > 0 ? [between.at(-1)!.id] : ['produce'];
  return {
    name: 'transfer',
    steps: [
      {
        id: 'produce',
        uses: 'noop',
        artifacts: [
          { type: 'report', path: 'out/report.csv', name: 'report' },
          { type: 'document', url: 'https://example.com/readme', name: 'readme' },
        ],
      },
      ...between,
      {
        id: 'consume',
        uses: 'handler',
        needs: consumeNeeds,
        retry: { max_attempts: 3, backoff_ms: 1 },
        with: { handler: 'read-input' },
        artifacts_in: [{ step: 'produce', name: 'report', path: 'in/data/report.csv' }],
      },
    ],
  };
}

describe.each(testBackends().filter((backend) => backend.shared))(
  'artifact files through the store on $name',
  (backend: TestBackend) => {
    skipUnavailable(backend);
    let h: Harness;
    let url: string;
    let open: (options?: Partial<EngineOptions>) => Harness;

    beforeEach(async () => {
      const created = await backend.create();
      url = created.url;
      const harnesses: Harness[] = [];
      open = (options = {}) => {
        const harness = createHarness(created.store, options);
        harness.engine.registerHandler('read-input', (context) => {
          const bytes = readFileSync(join(context.workspace, 'in/data/report.csv'));
          return { sha256: sha256(bytes), size: bytes.length };
        });
        harnesses.push(harness);
        return harness;
      };
      h = open();
      return async () => {
        for (const harness of harnesses) harness.engine.close();
        await created.cleanup();
      };
    });

    function writeReport(harness: Harness, bytes: Buffer): void {
      mkdirSync(join(harness.workspace, 'out'), { recursive: true });
      writeFileSync(join(harness.workspace, 'out/report.csv'), bytes);
    }

    it('stores a declared file as a blob (blob_id, same sha256) and writes it at the consumer path', async () => {
      // Several of the stores' 256 KiB pieces.
      const bytes = randomBytes(700_000);
      writeReport(h, bytes);
      const { run, steps } = await h.runPlan(transferPlan());
      expect(run.status).toBe('succeeded');
      const artifacts = await h.store.listArtifacts(run.run_id);
      const report = artifacts.find((a) => a.name === 'report')!;
      expect(report).toMatchObject({ digest: { sha256: sha256(bytes) }, size_bytes: bytes.length });
      expect(report.blob_id).toEqual(expect.any(String));
      expect((await blobBytes(h.store, report.blob_id!)).equals(bytes)).toBe(true);
      // A URL is recorded, not fetched: it has no blob.
      expect(artifacts.find((a) => a.name === 'readme')!.blob_id).toBeUndefined();
      expect(steps.consume!.outputs).toEqual({ sha256: sha256(bytes), size: bytes.length });
      const written = join(h.workspace, 'in/data/report.csv');
      expect(readFileSync(written).equals(bytes)).toBe(true);
      expect(readdirSync(dirname(written))).toEqual(['report.csv']);
    });

    it('writes the file from the store on the runner that takes the consumer, in its own workspace', async () => {
      const bytes = Buffer.from('id,value\n1,2\n');
      // Two runners with their own workspaces on one store: produce runs only on a, consume only on b.
      const [a, b] = [open({ labels: ['a'], shareSteps: true }), open({ labels: ['b'], shareSteps: true })];
      writeReport(a, bytes);
      const plan = transferPlan();
      plan.steps = plan.steps.map((step) => ({ ...step, runs_on: [step.id === 'produce' ? 'a' : 'b'] }));
      const { run } = await a.engine.startRun(await a.engine.applyPlanFile(a.writePlan(plan)));
      const stop = new AbortController();
      const working = [a, b].map((runner) => runner.engine.work({ signal: stop.signal }));
      try {
        for (let i = 0; i < 500; i += 1) {
          const current = await a.store.getRun(run.run_id);
          if (current?.status === 'succeeded' || current?.status === 'failed') break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        stop.abort();
        await Promise.all(working);
      }
      const { run: ended, steps } = await b.result(run.run_id);
      expect(ended.status).toBe('succeeded');
      expect(steps.consume!.outputs).toEqual({ sha256: sha256(bytes), size: bytes.length });
      expect(readFileSync(join(b.workspace, 'in/data/report.csv')).equals(bytes)).toBe(true);
      expect(existsSync(join(a.workspace, 'in'))).toBe(false);
      expect(existsSync(join(b.workspace, 'out'))).toBe(false);
    });

    it('fails the consumer with ARTIFACT_DIGEST_MISMATCH, once and without the file, when a stored byte changed', async () => {
      writeReport(h, randomBytes(300_000));
      let tampered: ArtifactDocument | undefined;
      h.engine.registerHandler('tamper', async (context) => {
        const artifacts = await h.store.listArtifacts(context.run.run_id);
        tampered = artifacts.find((a) => a.name === 'report')!;
        await tamperWithBlob(url, tampered.blob_id!);
        return {};
      });
      const between = [{ id: 'tamper', uses: 'handler', needs: ['produce'], with: { handler: 'tamper' } }];
      const { run, steps } = await h.runPlan(transferPlan(between));
      expect(tampered).toBeDefined();
      expect(run.status).toBe('failed');
      expect(steps.consume).toMatchObject({ status: 'failed', attempt: 1 });
      expect(steps.consume!.error_info).toMatchObject({ code: 'artifact_digest_mismatch' });
      expect(steps.consume!.error_info!.message).toContain(tampered!.digest!.sha256);
      // Neither the file nor its temporary file is left behind.
      expect(readdirSync(join(h.workspace, 'in/data'))).toEqual([]);
    });

    it('fails the consumer with ARTIFACT_UNAVAILABLE when the blob is gone', async () => {
      writeReport(h, Buffer.from('gone soon'));
      h.engine.registerHandler('remove', async (context) => {
        const report = (await h.store.listArtifacts(context.run.run_id)).find((a) => a.name === 'report')!;
        expect(await h.store.blobs.removeRunData([], [report.blob_id!])).toBe(1);
        return {};
      });
      const between = [{ id: 'remove', uses: 'handler', needs: ['produce'], with: { handler: 'remove' } }];
      const { steps } = await h.runPlan(transferPlan(between));
      expect(steps.consume).toMatchObject({ status: 'failed', attempt: 1 });
      expect(steps.consume!.error_info).toMatchObject({ code: 'artifact_unavailable' });
      expect(existsSync(join(h.workspace, 'in/data/report.csv'))).toBe(false);
    });

    it("fails the producer with ARTIFACT_TOO_LARGE past the runner's maximum, storing nothing", async () => {
      const small = open({ maxArtifactBytes: 1000 });
      writeReport(small, randomBytes(1001));
      const { run, steps } = await small.runPlan(transferPlan());
      expect(run.status).toBe('failed');
      expect(steps.produce!.error_info).toMatchObject({ code: 'artifact_too_large' });
      expect(steps.produce!.error_info!.message).toContain('1000');
      expect(await small.store.listArtifacts(run.run_id)).toEqual([]);
      // Exactly the maximum is stored.
      writeReport(small, randomBytes(1000));
      expect((await small.runPlan(transferPlan())).run.status).toBe('succeeded');
    });

    it("a rerun that reuses the producer writes the earlier run's artifact", async () => {
      const bytes = Buffer.from('first run');
      writeReport(h, bytes);
      const { run } = await h.runPlan(transferPlan());
      expect(run.status).toBe('succeeded');
      writeReport(h, Buffer.from('changed since'));
      const rerun = await h.engine.rerunFrom(run.run_id, 'consume');
      await h.engine.executeRun(rerun.run_id);
      const { run: ended, steps } = await h.result(rerun.run_id);
      expect(steps.produce).toMatchObject({ status: 'succeeded', skip_reason: 'reused' });
      expect(ended.status).toBe('succeeded');
      expect(steps.consume!.outputs).toEqual({ sha256: sha256(bytes), size: bytes.length });
    });
  },
);
