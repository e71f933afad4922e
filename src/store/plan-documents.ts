import type { PlanDocument } from '../generated/schemas.js';
import { isMaestroError } from '../domain/errors.js';
import type { DocumentCollection, Filter } from './document-collection.js';
import { pageNewestFirst } from './newest-first-page.js';
import type { Page, PageRequest, PlanFilter } from './port.js';
import { Collection, fromStored, toStored } from './stored-form.js';
import { assertValidDocument } from './validate-document.js';

/** The plans collection: one immutable document per plan version, keyed `<plan_id>:<version>`. */
export class PlanDocuments {
  constructor(private readonly plans: DocumentCollection) {}

  /** Stores a version once; saving the same version again returns the stored one. */
  async save(plan: PlanDocument): Promise<{ plan: PlanDocument; created: boolean }> {
    assertValidDocument(Collection.plans, plan);
    const _id = `${plan.plan_id}:${plan.version}`;
    try {
      await this.plans.insertOne({ ...toStored(Collection.plans, plan), _id });
      return { plan, created: true };
    } catch (error) {
      if (!isMaestroError(error, 'CONFLICT')) throw error;
      const existing = await this.plans.findOne({ _id });
      if (!existing) throw error;
      return { plan: fromStored(Collection.plans, existing), created: false };
    }
  }

  async findId(owner: string, name: string): Promise<string | undefined> {
    const found = await this.plans.findOne({ owner, name }, { created_at: 1, _id: 1 });
    return found ? String(found.plan_id) : undefined;
  }

  async get(planId: string, version?: string): Promise<PlanDocument | undefined> {
    const found = version
      ? await this.plans.findOne({ _id: `${planId}:${version}` })
      : await this.plans.findOne({ plan_id: planId }, { created_at: -1, _id: -1 });
    return found ? fromStored<PlanDocument>(Collection.plans, found) : undefined;
  }

  list(filter: PlanFilter, page: PageRequest): Promise<Page<PlanDocument>> {
    const query: Filter = {};
    if (filter.owner !== undefined) query.owner = filter.owner;
    if (filter.name !== undefined) query.name = filter.name;
    if (filter.plan_id !== undefined) query.plan_id = filter.plan_id;
    return pageNewestFirst(this.plans, Collection.plans, query, page);
  }
}
