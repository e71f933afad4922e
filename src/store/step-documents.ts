import type { StepDocument } from '../generated/schemas.js';
import { isTerminalStepStatus, StepStatus } from '../domain/status.js';
import type { DocumentCollection, DocumentDriver, Filter } from './document-collection.js';
import type { GuardedWrites } from './guarded-writes.js';
import type { LeaseRequest, LeaseToken, StepGuard, StepPatch } from './port.js';
import { Collection, fromStored, toStored } from './stored-form.js';
import { assertStorable, assertValidDocument } from './validate-document.js';

/**
 * Steps: one document per step of a run, claimed under a lease with a fence. A step its run's driver offers to other
 * runners carries `offered_at` until it is claimed or ends, so the sparse index steps_offered holds open offers only.
 */
export class StepDocuments {
  private readonly steps: DocumentCollection;

  constructor(
    private readonly driver: DocumentDriver,
    private readonly guarded: GuardedWrites,
  ) {
    this.steps = driver.collection(Collection.steps);
  }

  async insert(steps: StepDocument[]): Promise<void> {
    for (const step of steps) assertValidDocument(Collection.steps, step);
    await this.steps.insertManyIgnoringDuplicates(
      steps.map((step) => ({ ...toStored(Collection.steps, step), _id: step.step_id })),
    );
  }

  async list(runId: string): Promise<StepDocument[]> {
    const found = await this.steps.find({ run_id: runId }, { sort: { _id: 1 } });
    return found.map((doc) => fromStored<StepDocument>(Collection.steps, doc));
  }

  async get(stepId: string): Promise<StepDocument | undefined> {
    const found = await this.steps.findOne({ _id: stepId });
    return found ? fromStored<StepDocument>(Collection.steps, found) : undefined;
  }

  async claim(stepId: string, lease: LeaseRequest): Promise<StepDocument | undefined> {
    return this.guarded.write(stepId, async () => {
      const now = new Date(lease.now);
      const leaseSet = { 'lease.owner': lease.owner, 'lease.expires_at': new Date(lease.expires_at) };
      const claim = (filter: Filter, update: Record<string, unknown>) =>
        this.driver.atomicUpdates
          ? this.steps.findOneAndUpdate(filter, update)
          : this.guarded.claimThroughGate(this.steps, filter, update, lease);
      // A new attempt of a pending step whose backoff has passed...
      const fresh = await claim(
        {
          _id: stepId,
          status: StepStatus.pending,
          $or: [{ ready_at: { $exists: false } }, { ready_at: { $lte: now } }],
        },
        {
          $set: { ...leaseSet, status: StepStatus.running, started_at: now },
          $inc: { attempt: 1, 'lease.fence': 1 },
          $unset: { ready_at: true, offered_at: true },
        },
      );
      if (fresh) return fromStored<StepDocument>(Collection.steps, fresh);
      // ...or the same attempt taken over from a runner whose lease expired (it died or was cut off).
      const takenOver = await claim(
        { _id: stepId, status: StepStatus.running, 'lease.expires_at': { $lt: now } },
        { $set: leaseSet, $inc: { 'lease.fence': 1 }, $unset: { offered_at: true } },
      );
      return takenOver ? fromStored<StepDocument>(Collection.steps, takenOver) : undefined;
    });
  }

  async renewLease(stepId: string, token: LeaseToken, expiresAt: string): Promise<boolean> {
    return this.guarded.write(stepId, async () => {
      const renewed = await this.guarded.updateWhere(
        this.steps,
        stepId,
        { status: StepStatus.running, 'lease.owner': token.owner, 'lease.fence': token.fence },
        { $set: { 'lease.expires_at': new Date(expiresAt) } },
      );
      return renewed !== undefined;
    });
  }

  async update(stepId: string, guard: StepGuard, patch: StepPatch): Promise<StepDocument | undefined> {
    assertStorable(patch, 'step update');
    return this.guarded.write(stepId, async () => {
      const { lease, ...fields } = patch;
      const set: Record<string, unknown> = toStored(Collection.steps, fields);
      if (lease) {
        set['lease.owner'] = lease.owner;
        set['lease.expires_at'] = new Date(lease.expires_at);
      }
      const update: Record<string, unknown> = { $set: set };
      if (lease) update.$inc = { 'lease.fence': 1 };
      // An ended step is offered to no one any more.
      if (fields.status && isTerminalStepStatus(fields.status)) update.$unset = { offered_at: true };
      const updated = await this.guarded.updateWhere(this.steps, stepId, statusAndLeaseFilter(guard), update);
      return updated ? fromStored<StepDocument>(Collection.steps, updated) : undefined;
    });
  }

  /** The oldest open offers; the caller picks those it can take and claims them (claims decide the race). */
  async listOffered(limit: number): Promise<StepDocument[]> {
    const found = await this.steps.find({ offered_at: { $exists: true } }, { sort: { offered_at: 1 }, limit });
    return found.map((doc) => fromStored<StepDocument>(Collection.steps, doc));
  }
}

/** A guard as a filter: the step is in one of these statuses and/or still under this lease (owner and fence). */
export function statusAndLeaseFilter(guard: StepGuard | { statusIn?: readonly string[]; lease?: LeaseToken }): Filter {
  const filter: Filter = {};
  if (guard.statusIn) filter.status = { $in: [...guard.statusIn] };
  if (guard.lease) {
    filter['lease.owner'] = guard.lease.owner;
    filter['lease.fence'] = guard.lease.fence;
  }
  return filter;
}
