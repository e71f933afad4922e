import type { RunDocument } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import { RunStatus } from '../domain/status.js';
import type { BlobStore } from './blob-port.js';
import type { DocumentCollection, Filter } from './document-collection.js';
import type { RunTreeRemoval } from './port.js';
import { Collection, fromStored } from './stored-form.js';

const ENDED = [RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled];

/**
 * What retention removes, a root run's whole tree at a time (its child runs, theirs, …): a child run goes with its
 * root, never before it, so nothing of a tree whose root still runs is touched. Removal is ordered so that a prune
 * killed half-way leaves the root run in place, and the next prune finishes the tree.
 */
export class RunRetention {
  constructor(
    private readonly collections: Record<'runs' | 'steps' | 'events' | 'artifacts', DocumentCollection>,
    /** Drops the store's bookkeeping of the documents a filter finds (FerretDB's claim gates). */
    private readonly dropClaimGates: (collection: DocumentCollection, filter: Filter) => Promise<void>,
  ) {}

  /** Root runs that ended before the cutoff (with one of `statuses`), oldest first, after a run already seen. */
  async endedRootRuns(
    endedBefore: string,
    statuses: readonly string[],
    limit: number,
    after?: RunDocument,
  ): Promise<RunDocument[]> {
    const wanted = statuses.length > 0 ? statuses.filter((s) => (ENDED as string[]).includes(s)) : ENDED;
    const query: Filter = {
      parent_run_id: { $exists: false },
      status: { $in: wanted },
      ended_at: { $lt: new Date(endedBefore) },
    };
    const afterEnd = after?.ended_at ? new Date(after.ended_at) : undefined;
    const found = await this.collections.runs.find(
      afterEnd
        ? {
            $and: [
              query,
              { $or: [{ ended_at: { $gt: afterEnd } }, { ended_at: afterEnd, _id: { $gt: after!.run_id } }] },
            ],
          }
        : query,
      { sort: { ended_at: 1, _id: 1 }, limit },
    );
    return found.map((doc) => fromStored<RunDocument>(Collection.runs, doc));
  }

  /**
   * Removes (or with `dryRun` only counts) the tree of an ended root run: its events, steps and artifacts, then its
   * child runs, then the root; the tree's log chunks and blobs go through `blobs`. Refused when a run of the tree
   * has not ended.
   */
  async removeTree(
    rootRunId: string,
    dryRun: boolean,
    blobs: Pick<BlobStore, 'removeRunData'>,
  ): Promise<RunTreeRemoval> {
    const tree = await this.collections.runs.find({ root_run_id: rootRunId });
    const root = tree.find((run) => run._id === rootRunId) ?? (await this.collections.runs.findOne({ _id: rootRunId }));
    if (!root) return { run_ids: [], removed: { runs: 0, steps: 0, events: 0, artifacts: 0 } };
    const runs = tree.some((run) => run._id === rootRunId) ? tree : [root, ...tree];
    const unfinished = runs.find((run) => !(ENDED as unknown[]).includes(run.status));
    if (unfinished)
      throw new MaestroError('CONFLICT', `run ${String(unfinished._id)} of the tree of ${rootRunId} has not ended`, {
        details: { run_id: unfinished._id, status: unfinished.status },
      });
    const runIds = runs.map((run) => String(run._id));
    const ofTree = { run_id: { $in: runIds } };
    if (dryRun) {
      const [steps, events, artifacts] = await Promise.all(
        [this.collections.steps, this.collections.events, this.collections.artifacts].map(
          async (collection) => (await collection.find(ofTree)).length,
        ),
      );
      return {
        run_ids: runIds,
        removed: { runs: runIds.length, steps: steps!, events: events!, artifacts: artifacts! },
      };
    }
    // The tree's claim gates first, while its documents say which fences they reached; the tree's runs have all
    // ended, so nothing claims them again.
    await this.dropClaimGates(this.collections.steps, ofTree);
    await this.dropClaimGates(this.collections.runs, { _id: { $in: runIds } });
    const events = await this.collections.events.deleteMany(ofTree);
    const steps = await this.collections.steps.deleteMany(ofTree);
    // Logs and artifact bytes before the artifacts that name their blobs: a prune cut short finds them again.
    await blobs.removeRunData(runIds, await this.blobIdsOf(ofTree));
    const artifacts = await this.collections.artifacts.deleteMany(ofTree);
    // The root last: while it is there, a later prune finds the tree again.
    const children = await this.collections.runs.deleteMany({ _id: { $in: runIds.filter((id) => id !== rootRunId) } });
    const rootRemoved = await this.collections.runs.deleteMany({ _id: rootRunId });
    return { run_ids: runIds, removed: { runs: children + rootRemoved, steps, events, artifacts } };
  }

  /** The blobs the tree's artifacts keep their bytes in (an uploaded or materialized artifact's blob_id). */
  private async blobIdsOf(ofTree: Filter): Promise<string[]> {
    const artifacts = await this.collections.artifacts.find(ofTree);
    return artifacts.flatMap((artifact) => (typeof artifact.blob_id === 'string' ? [artifact.blob_id] : []));
  }
}
