import { isMaestroError } from '../domain/errors.js';
import type { DocumentCollection, DocumentDriver, Filter, StoredDocument } from './document-collection.js';
import { KeyedQueue } from './keyed-queue.js';
import type { LeaseRequest } from './port.js';

const GATE_DELETE_BATCH = 1000;

/**
 * Guarded single-document writes on any server: one findOneAndUpdate where the server isolates updates; where it
 * does not (FerretDB 1.x), a read, a guard checked in this process, a write by _id, per-document write order in
 * this process, and lease claims gated by a unique insert that exactly one claimer wins.
 */
export class GuardedWrites {
  private readonly isolatedUpdates: boolean;
  /** Unique-insert gates for lease claims, used only where single-document updates are not isolated. */
  private readonly claimGates: DocumentCollection | undefined;
  /** Where updates are not isolated, this process at least never interleaves two writes to one document. */
  private readonly writes = new KeyedQueue();

  constructor(private readonly driver: DocumentDriver) {
    this.isolatedUpdates = driver.atomicUpdates;
    this.claimGates = driver.atomicUpdates ? undefined : driver.collection('lease_claims');
  }

  /**
   * A guarded single-document update. Where the server isolates updates it is one findOneAndUpdate. Elsewhere
   * (FerretDB 1.x, which reads then writes anyway, and looks documents up by key only for plain _id filters) the
   * document is read by _id, the guard is checked here with MongoDB semantics, and it is written by _id; the
   * per-document write queue keeps this process's writes to it in order.
   */
  async updateWhere(
    collection: DocumentCollection,
    id: string,
    guard: Filter,
    update: Record<string, unknown>,
  ): Promise<StoredDocument | undefined> {
    if (this.isolatedUpdates) return collection.findOneAndUpdate({ ...guard, _id: id }, update);
    const current = await collection.findOne({ _id: id });
    if (!current || !this.driver.matches(current, guard)) return undefined;
    return collection.findOneAndUpdate({ _id: id }, update);
  }

  /** One document's writes in call order when the server does not isolate updates; straight through otherwise. */
  write<T>(documentId: string, task: () => Promise<T>): Promise<T> {
    return this.isolatedUpdates ? task() : this.writes.run(documentId, task);
  }

  /**
   * Drops the claim gates of the documents a filter finds (retention, before it removes them): the gate of each
   * fence they reached and of the next one (a claimer that died between its gate and its write). Where updates are
   * isolated there are no gates, and nothing is read.
   */
  async dropClaimGates(collection: DocumentCollection, filter: Filter): Promise<void> {
    if (!this.claimGates) return;
    const ids: string[] = [];
    for (const doc of await collection.find(filter)) {
      const fence = (doc.lease as { fence?: unknown } | undefined)?.fence;
      if (typeof fence !== 'number') continue;
      for (let next = 1; next <= fence + 1; next += 1) ids.push(`${doc._id}:${next}`);
    }
    for (let from = 0; from < ids.length; from += GATE_DELETE_BATCH)
      await this.claimGates.deleteMany({ _id: { $in: ids.slice(from, from + GATE_DELETE_BATCH) } });
  }

  /**
   * A claim on a server whose updates are not isolated: the next fence is taken by a unique insert
   * (exactly one inserter wins it), and only the winner writes the lease, conditioned on the fence it saw.
   */
  async claimThroughGate(
    collection: DocumentCollection,
    filter: Filter,
    update: Record<string, unknown>,
    lease: LeaseRequest,
    sort?: Record<string, 1 | -1>,
    serializeWrite = false,
  ): Promise<StoredDocument | undefined> {
    const byKey = typeof filter._id === 'string';
    const candidates = byKey
      ? [await collection.findOne({ _id: filter._id })].filter(
          (doc): doc is StoredDocument => doc !== undefined && this.driver.matches(doc, filter),
        )
      : await collection.find(filter, { ...(sort ? { sort } : {}), limit: 20 });
    // A gate older than a lease belongs to a claimer that died between its gate and its write: skip past it.
    const staleBefore = Date.parse(lease.now) - Math.max(1, Date.parse(lease.expires_at) - Date.parse(lease.now));
    for (const candidate of candidates) {
      const fence = Number((candidate.lease as { fence?: number } | undefined)?.fence ?? 0);
      const nextFence = await this.takeGate(candidate._id, fence, staleBefore);
      if (nextFence === undefined) continue;
      const fenceFilter = fence === 0 ? { 'lease.fence': { $exists: false } } : { 'lease.fence': fence };
      const fencedUpdate = withFence(update, nextFence);
      const claim = () =>
        this.updateWhere(collection, candidate._id, { ...filter, ...fenceFilter, _id: candidate._id }, fencedUpdate);
      // Step claims already run in their step's write queue; run claims join their run's here.
      const claimed = serializeWrite ? await this.writes.run(candidate._id, claim) : await claim();
      if (claimed) return claimed;
    }
    return undefined;
  }

  /** Inserts the gate of the next fence (exactly one inserter wins it); returns that fence, or undefined when lost. */
  private async takeGate(documentId: string, fence: number, staleBefore: number): Promise<number | undefined> {
    for (let next = fence + 1; next <= fence + 3; next += 1) {
      try {
        await this.claimGates!.insertOne({ _id: `${documentId}:${next}`, at: new Date() });
        return next;
      } catch (error) {
        if (!isMaestroError(error, 'CONFLICT')) throw error;
        const gate = await this.claimGates!.findOne({ _id: `${documentId}:${next}` });
        const at = gate?.at instanceof Date ? gate.at.getTime() : Number.POSITIVE_INFINITY;
        if (at >= staleBefore) return undefined;
      }
    }
    return undefined;
  }
}

/** A claim's update with the fence its gate won, set rather than incremented. */
function withFence(update: Record<string, unknown>, fence: number): Record<string, unknown> {
  const { $inc, $set, ...rest } = update as { $inc?: Record<string, unknown>; $set?: Record<string, unknown> };
  const { 'lease.fence': _incremented, ...otherIncrements } = $inc ?? {};
  return {
    ...rest,
    $set: { ...$set, 'lease.fence': fence },
    ...(Object.keys(otherIncrements).length > 0 ? { $inc: otherIncrements } : {}),
  };
}
