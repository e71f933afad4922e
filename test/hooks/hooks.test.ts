import { createServer } from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { EventDocument, Plan } from '../../src/generated/schemas.js';
import { isMaestroError } from '../../src/domain/errors.js';
import { verifyAttestation } from '../../src/hooks/attestation/verify-attestation.js';
import { verifyLedgerManifest, type LedgerManifest } from '../../src/hooks/claim-ledger/ledger-manifest.js';
import { openLineageHook } from '../../src/hooks/openlineage/openlineage-hook.js';
import { testBackends, type TestBackend } from '../support/backends.js';
import { createHarness, harnessForEachTest, type Harness } from '../support/engine-harness.js';
import { REPO_ROOT } from '../support/spawn-cli.js';

const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

const producingPlan = (hooks: string[]): Plan => ({
  name: 'produce',
  hooks,
  steps: [
    {
      id: 'write',
      uses: 'exec',
      with: { command: ['node', '-e', "require('fs').writeFileSync('report.txt', 'numbers: 1 2 3')"] },
      artifacts: [{ type: 'report', path: 'report.txt' }],
    },
    { id: 'fail-softly', uses: 'noop', needs: ['write'] },
    { id: 'child', uses: 'plan', needs: ['write'], with: { plan: 'child.json' } },
  ],
});

function writeChild(h: Harness, hooks: string[] = []): void {
  h.writePlan({ name: 'child', hooks, steps: [{ id: 'inner', uses: 'noop' }] }, 'child.json');
}

/** The official OpenLineage schema (vendored in test/fixtures/openlineage from the OpenLineage spec), facets registered by $id. */
function openLineageValidator() {
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'openlineage');
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  ajv.addSchema(JSON.parse(readFileSync(join(dir, 'OpenLineage.json'), 'utf8')));
  const facets = readdirSync(join(dir, 'facets')).map(
    (file) =>
      JSON.parse(readFileSync(join(dir, 'facets', file), 'utf8')) as { $id: string; $defs: Record<string, unknown> },
  );
  for (const facet of facets) ajv.addSchema(facet);
  const runEvent = ajv.getSchema('https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent')!;
  return (event: Record<string, unknown>): string[] => {
    const errors: string[] = [];
    if (!runEvent(event)) errors.push(JSON.stringify(runEvent.errors));
    // Each facet also against its own schema, found by its _schemaURL.
    const allFacets = {
      ...((event.run as { facets?: object }).facets ?? {}),
      ...((event.job as { facets?: object }).facets ?? {}),
    } as Record<string, { _schemaURL: string }>;
    for (const [name, facet] of Object.entries(allFacets)) {
      const validate = ajv.getSchema(facet._schemaURL);
      if (!validate) errors.push(`${name}: no schema ${facet._schemaURL}`);
      else if (!validate(facet)) errors.push(`${name}: ${JSON.stringify(validate.errors)}`);
    }
    return errors;
  };
}

describe.each(testBackends())('provenance hooks on $name', (backend: TestBackend) => {
  const h = harnessForEachTest(backend);

  it('delivers every stored event to a hook once, in seq order, and records a throwing hook without failing the run', async () => {
    const seen: number[] = [];
    h.engine.registerHook({ name: 'recorder', on: { '*': (event: EventDocument) => void seen.push(event.seq) } });
    h.engine.registerHook({
      name: 'broken',
      on: {
        'step.succeeded': () => {
          throw new Error('ledger service down');
        },
      },
    });
    writeChild(h);
    const { run, events } = await h.runPlan({ ...producingPlan(['recorder', 'broken']) });
    expect(run.status).toBe('succeeded');
    expect(seen).toEqual(events.map((e) => e.seq));
    const stored = await h.store.getRun(run.run_id);
    expect(stored?.hook_cursors).toMatchObject({ recorder: events.length, broken: events.length });
    expect(stored?.hook_failures?.map((f) => [f.hook, f.message])).toEqual(
      events.filter((e) => e.type === 'step.succeeded').map(() => ['broken', 'ledger service down']),
    );
  });

  it('a runner resuming a run that already ended delivers the events the runner that ended it never delivered', async () => {
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    // The first runner's hook never returns from the first event, as if the runner died after ending the run.
    h.engine.registerHook({ name: 'recorder', on: { '*': () => stalled } });
    const planDoc = await h.engine.applyPlanFile(
      h.writePlan({ name: 'ended-undelivered', hooks: ['recorder'], steps: [{ id: 'only', uses: 'noop' }] }),
    );
    const { run } = await h.engine.startRun(planDoc);
    const first = h.engine.executeRun(run.run_id);
    const stored = async () => (await h.store.listEvents(run.run_id, 0, 100)).map((event) => event.type);
    while (!(await stored()).includes('run.succeeded')) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = createHarness(h.store);
    const seen: number[] = [];
    second.engine.registerHook({ name: 'recorder', on: { '*': (event: EventDocument) => void seen.push(event.seq) } });
    try {
      expect((await second.engine.executeRun(run.run_id))?.status).toBe('succeeded');
      const events = await h.store.listEvents(run.run_id, 0, 100);
      expect(seen).toEqual(events.map((event) => event.seq));
      expect((await h.store.getRun(run.run_id))?.hook_cursors).toEqual({ recorder: events.length });
    } finally {
      release();
      await first;
      second.engine.close();
    }
  });

  it('refuses a plan naming an unknown hook, at its JSON path', async () => {
    const error = await h.engine
      .applyPlanFile(h.writePlan({ name: 'x', hooks: ['nope'], steps: [{ id: 'a', uses: 'noop' }] }))
      .catch((e: unknown) => e);
    expect(isMaestroError(error, 'PLAN_INVALID')).toBe(true);
    expect((error as { details: { path: string } }).details.path).toBe('$.hooks[0]');
  });

  it('writes a verifiable claim-ledger manifest and its references onto the run and artifacts; any tampering is detected', async () => {
    writeChild(h);
    const { run } = await h.runPlan(producingPlan(['claim-ledger']));
    const stored = await h.engine.getRunDetail(run.run_id);
    const [manifestId] = stored.run.provenance.claim_ledger_manifest_ids;
    const [manifestPath] = stored.run.provenance.claim_ledger_manifest_paths;
    const manifest = JSON.parse(readFileSync(manifestPath!, 'utf8')) as LedgerManifest;
    expect(manifest.manifest_id).toBe(manifestId);
    expect(verifyLedgerManifest(manifest)).toEqual({ entries: stored.steps.length + 1, manifest_id: manifestId });
    const artifactEntry = manifest.entries.find((e) => e.kind === 'artifact')!;
    expect(stored.artifacts[0]).toMatchObject({ claim_ledger_ref: `${manifestId}#${artifactEntry.index}` });
    expect(artifactEntry.digest).toBe(stored.artifacts[0]!.digest!.sha256);

    const tamperings: Record<string, (m: LedgerManifest) => void> = {
      'edited status': (m) => void (m.entries[0]!.status = 'failed'),
      'edited digest': (m) => void (m.entries[1]!.digest = 'f'.repeat(64)),
      'removed entry': (m) => void m.entries.splice(1, 1),
      'reordered entries': (m) => void m.entries.reverse(),
      'removed last entry': (m) => void m.entries.pop(),
      'edited and re-hashed entry': (m) => {
        m.entries[0]!.subject = 'other';
      },
    };
    for (const [what, tamper] of Object.entries(tamperings)) {
      const copy = JSON.parse(JSON.stringify(manifest)) as LedgerManifest;
      tamper(copy);
      expect(() => verifyLedgerManifest(copy), what).toThrow(expect.objectContaining({ code: 'LEDGER_INVALID' }));
    }
  });

  it('emits OpenLineage events that validate against the official schema, with parent facets and artifacts as outputs', async () => {
    writeChild(h, ['openlineage']);
    const { run, steps } = await h.runPlan(producingPlan(['openlineage']));
    const read = (id: string) =>
      readFileSync(join(h.workspace, '.maestro', 'openlineage', `${id}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, any>);
    const events = read(run.run_id);
    const childEvents = read(steps.child!.child_run_id!);
    const validate = openLineageValidator();
    for (const event of [...events, ...childEvents]) expect(validate(event), JSON.stringify(event)).toEqual([]);
    expect(events[0]).toMatchObject({ eventType: 'START', job: { name: 'produce' } });
    expect(events.at(-1)).toMatchObject({
      eventType: 'COMPLETE',
      job: { name: 'produce' },
      outputs: [{ namespace: 'file', name: join(h.workspace, 'report.txt') }],
    });
    const stepStart = events.find((e) => e.job.name === 'produce.write' && e.eventType === 'START')!;
    expect(stepStart.run.facets.parent).toMatchObject({
      run: { runId: events[0]!.run.runId },
      job: { name: 'produce' },
    });
    const childStart = childEvents.find((e) => e.job.name === 'child' && e.eventType === 'START')!;
    expect(childStart.run.facets.parent).toMatchObject({ job: { name: 'produce.child' } });
  });

  it('sends OpenLineage events to an HTTP endpoint in the /api/v1/lineage shape', async () => {
    const received: Array<{ url: string; body: any }> = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ url: request.url!, body: JSON.parse(body) });
        response.writeHead(201).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      h.engine.registerHook({
        ...openLineageHook({ transport: { type: 'http', url: `http://127.0.0.1:${port}` }, namespace: 'test' }),
        name: 'lineage-http',
      });
      const { run } = await h.runPlan({
        name: 'failing',
        hooks: ['lineage-http'],
        steps: [{ id: 'boom', uses: 'exec', with: { command: ['node', '-e', 'process.exit(2)'] } }],
      });
      expect(run.status).toBe('failed');
      expect(received.every((r) => r.url === '/api/v1/lineage')).toBe(true);
      expect(received.map((r) => `${r.body.job.name}:${r.body.eventType}`)).toEqual([
        'failing:START',
        'failing.boom:START',
        'failing.boom:FAIL',
        'failing:FAIL',
      ]);
      const stepFail = received[2]!.body;
      expect(stepFail.run.facets.errorMessage.message).toContain('exited with code 2');
      const validate = openLineageValidator();
      for (const r of received) expect(validate(r.body)).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('signs an attestation that verifies, and fails after one byte of an artifact or of the envelope changes', async () => {
    writeChild(h);
    const { run } = await h.runPlan(producingPlan(['attestation']));
    const envelopePath = join(h.workspace, '.maestro', 'attestations', `${run.run_id}.dsse.json`);
    const publicKey = join(h.workspace, '.maestro', 'keys', 'attestation-ed25519.pub.pem');
    expect(await verifyAttestation(envelopePath, publicKey, h.workspace)).toEqual({ subjects: 1, run_id: run.run_id });
    const statement = JSON.parse(
      Buffer.from(JSON.parse(readFileSync(envelopePath, 'utf8')).payload, 'base64').toString(),
    );
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      predicateType: 'https://slsa.dev/provenance/v1',
      subject: [{ name: 'report.txt' }],
      predicate: {
        buildDefinition: { externalParameters: { plan_id: run.plan_id, plan_version: run.plan_version } },
        runDetails: { metadata: { invocationId: run.run_id } },
      },
    });

    const original = readFileSync(envelopePath, 'utf8');
    const envelope = JSON.parse(original);
    const payload = Buffer.from(envelope.payload, 'base64');
    payload[payload.length - 5]! ^= 1;
    writeFileSync(envelopePath, JSON.stringify({ ...envelope, payload: payload.toString('base64') }));
    await expect(verifyAttestation(envelopePath, publicKey, h.workspace)).rejects.toMatchObject({
      code: 'ATTESTATION_INVALID',
    });
    writeFileSync(envelopePath, original);

    const artifactPath = join(h.workspace, 'report.txt');
    const bytes = readFileSync(artifactPath);
    bytes[0]! ^= 1;
    writeFileSync(artifactPath, bytes);
    await expect(verifyAttestation(envelopePath, publicKey, h.workspace)).rejects.toMatchObject({
      code: 'ATTESTATION_INVALID',
      details: { subject: 'report.txt' },
    });
  });
});
