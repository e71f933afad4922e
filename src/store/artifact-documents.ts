import type { ArtifactDocument } from '../generated/schemas.js';
import type { DocumentCollection } from './document-collection.js';
import type { GuardedWrites } from './guarded-writes.js';
import { Collection, fromStored, toStored } from './stored-form.js';
import { assertValidDocument } from './validate-document.js';

/** The artifacts collection: metadata of a run's outputs, later marked with their provenance references. */
export class ArtifactDocuments {
  constructor(
    private readonly artifacts: DocumentCollection,
    private readonly guarded: GuardedWrites,
  ) {}

  async attach(artifact: ArtifactDocument): Promise<ArtifactDocument> {
    assertValidDocument(Collection.artifacts, artifact);
    await this.artifacts.insertOne({ ...toStored(Collection.artifacts, artifact), _id: artifact.artifact_id });
    return artifact;
  }

  async setProvenance(
    artifactId: string,
    refs: { claim_ledger_ref?: string; intelgraph_entity_ids?: string[] },
  ): Promise<void> {
    return this.guarded.write(artifactId, async () => {
      const update: Record<string, unknown> = {};
      if (refs.claim_ledger_ref !== undefined) update.$set = { claim_ledger_ref: refs.claim_ledger_ref };
      if (refs.intelgraph_entity_ids?.length)
        update.$addToSet = { intelgraph_entity_ids: { $each: refs.intelgraph_entity_ids } };
      if (Object.keys(update).length > 0) await this.artifacts.updateOne({ _id: artifactId }, update);
    });
  }

  async list(runId: string): Promise<ArtifactDocument[]> {
    const found = await this.artifacts.find({ run_id: runId }, { sort: { created_at: 1, _id: 1 } });
    return found.map((doc) => fromStored<ArtifactDocument>(Collection.artifacts, doc));
  }
}
