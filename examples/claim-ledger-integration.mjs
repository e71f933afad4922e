// Integration stub: a `handler` step that calls a claim-ledger library client and records the manifest id it
// gets back on the run (provenance.claim_ledger_manifest_ids) and on the artifact it attaches (claim_ledger_ref).
// Replace ClaimLedgerClient with your ledger's real client; the step side stays the same.
//   node examples/claim-ledger-integration.mjs
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Engine, openStore } from 'maestro-conductor';

/** Stands in for a claim-ledger library: submit claims, get a manifest id back. */
class ClaimLedgerClient {
  constructor(endpoint) {
    this.endpoint = endpoint;
    this.manifests = new Map();
  }

  async submit({ subject, claims, idempotencyKey }) {
    // A real client would POST to this.endpoint; the idempotency key makes a retried step submit once.
    const existing = this.manifests.get(idempotencyKey);
    if (existing) return existing;
    const manifest = {
      manifest_id: `clm_${createHash('sha256').update(JSON.stringify({ subject, claims })).digest('hex').slice(0, 24)}`,
      accepted: claims.length,
    };
    this.manifests.set(idempotencyKey, manifest);
    return manifest;
  }
}

const ledger = new ClaimLedgerClient('https://ledger.example/api');
const store = await openStore('memory://');
const engine = new Engine({ store });

engine.registerHandler('record-claims', async ({ args, idempotencyKey, attachArtifact, addProvenance, logger }) => {
  writeFileSync('claims.json', JSON.stringify(args.claims, null, 2));
  const { manifest_id: manifestId, accepted } = await ledger.submit({
    subject: args.subject,
    claims: args.claims,
    idempotencyKey,
  });
  logger.info(`ledger accepted ${accepted} claims as ${manifestId}`);
  await addProvenance({ claim_ledger_manifest_ids: [manifestId] });
  const artifact = await attachArtifact({
    type: 'document',
    path: 'claims.json',
    media_type: 'application/json',
    claim_ledger_ref: manifestId,
  });
  return { manifest_id: manifestId, artifact_id: artifact.artifact_id };
});

try {
  const { plan } = await engine.applyPlan({
    name: 'claims',
    steps: [
      {
        id: 'record',
        uses: 'handler',
        with: {
          handler: 'record-claims',
          subject: 'release 2.4.0',
          claims: [
            { kind: 'tested', by: 'ci' },
            { kind: 'reviewed', by: 'alice' },
          ],
        },
      },
    ],
  });
  const { run } = await engine.startRun(plan);
  await engine.executeRun(run.run_id);
  const detail = await engine.getRunDetail(run.run_id);
  console.log(`run ${detail.run.status}: manifests ${detail.run.provenance.claim_ledger_manifest_ids.join(', ')}`);
  console.log(`artifact ${detail.artifacts[0].name} claim_ledger_ref ${detail.artifacts[0].claim_ledger_ref}`);
  if (detail.run.status !== 'succeeded') process.exitCode = 1;
} finally {
  engine.close();
  await store.close();
}
