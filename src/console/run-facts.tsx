import type { ArtifactDocument, EventDocument, ProvenanceCheck, RunDocument } from '../generated/schemas.js';
import { formatBytes, formatTime } from './format.js';

/** The run's artifacts with what proves them: digest, size, media type, ledger claim, IntelGraph entities. */
export function ArtifactTable({ artifacts }: { artifacts: ArtifactDocument[] }) {
  if (artifacts.length === 0) return <p>No artifacts.</p>;
  return (
    <div class="table-scroll">
      <table aria-label="Artifacts">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">sha256</th>
            <th scope="col">Size</th>
            <th scope="col">Media type</th>
            <th scope="col">Claim ledger</th>
            <th scope="col">IntelGraph</th>
          </tr>
        </thead>
        <tbody>
          {artifacts.map((artifact) => (
            <tr key={artifact.artifact_id}>
              <td title={artifact.location}>{artifact.name}</td>
              <td>{artifact.type}</td>
              <td class="mono" title={artifact.digest?.sha256}>
                {artifact.digest?.sha256.slice(0, 16)}
              </td>
              <td>{formatBytes(artifact.size_bytes)}</td>
              <td>{artifact.media_type}</td>
              <td class="mono">{artifact.claim_ledger_ref}</td>
              <td class="mono">{artifact.intelgraph_entity_ids.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The run's provenance references as its hooks recorded them. */
export function ProvenanceFacts({ run, verification }: { run: RunDocument; verification?: ProvenanceCheck }) {
  const provenance = run.provenance;
  return (
    <dl class="facts">
      <dt>Ledger manifests</dt>
      <dd class="mono">{provenance.claim_ledger_manifest_ids.join(', ') || 'none'}</dd>
      {verification?.manifests.map((manifest) => (
        <>
          <dt>Ledger verify {manifest.manifest_id ?? manifest.path}</dt>
          <dd class={manifest.valid ? 'ok' : 'bad'}>{manifest.valid ? 'passes' : `fails: ${manifest.error ?? ''}`}</dd>
        </>
      ))}
      <dt>Attestation</dt>
      <dd>
        {verification?.attestation
          ? verification.attestation.valid === undefined
            ? `present (${verification.attestation.path}); no public key configured to verify it`
            : verification.attestation.valid
              ? `present, verifies (${verification.attestation.subjects ?? 0} subjects)`
              : `present, does not verify: ${verification.attestation.error ?? ''}`
          : 'none'}
      </dd>
      <dt>IntelGraph entities</dt>
      <dd class="mono">{provenance.intelgraph_entity_ids.join(', ') || 'none'}</dd>
    </dl>
  );
}

/** The run's stored events, in seq order. */
export function EventList({ events }: { events: EventDocument[] }) {
  return (
    <div class="table-scroll events">
      <table aria-label="Events">
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">At</th>
            <th scope="col">Type</th>
            <th scope="col">Step</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.seq}>
              <td>{event.seq}</td>
              <td>{formatTime(event.at)}</td>
              <td>{event.type}</td>
              <td>{(event.data as { key?: string }).key ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
