import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRunProvenance } from '../../src/hooks/provenance-check.js';
import { openStore } from '../../src/store/open.js';
import { MAESTRO_RUN, REPO_ROOT, runCli } from '../support/spawn-cli.js';

describe('checking a run provenance in its workspace (the console and GET /v1/runs/{id}/provenance)', () => {
  it('passes for the provenance sample plan, and fails once its manifest or attestation is edited', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-provenance-check-'));
    const ran = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'provenance.json'), '--json'], { cwd });
    expect(ran.code).toBe(0);
    const store = await openStore(`sqlite://${join(cwd, '.maestro', 'maestro.db')}`);
    const run = (await store.listRuns({}, { limit: 1 })).items[0]!;
    await store.close();

    const good = await checkRunProvenance(run, cwd);
    expect(good.manifests).toHaveLength(1);
    expect(good.manifests[0]).toMatchObject({ valid: true, manifest_id: expect.any(String) });
    expect(good.attestation).toMatchObject({ valid: true });

    const manifestPath = good.manifests[0]!.path;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.entries[0].digest = 'f'.repeat(64);
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const envelope = good.attestation!.path;
    writeFileSync(envelope, readFileSync(envelope, 'utf8').replace(/"sig": "./, '"sig": "A'));
    const bad = await checkRunProvenance(run, cwd);
    expect(bad.manifests[0]).toMatchObject({ valid: false, error: expect.any(String) });
    expect(bad.attestation).toMatchObject({ valid: false });
  });
});
