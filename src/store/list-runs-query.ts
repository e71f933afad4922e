import type { ListRunsQuery } from '../generated/schemas.js';
import type { Filter } from './document-collection.js';
import type { PageRequest, RunFilter } from './port.js';
import { assertMatchesSchema } from '../schema/validators.js';

export const DEFAULT_PAGE_LIMIT = 50;

/**
 * list_runs filters from an untrusted source (query string, CLI flags), checked against
 * schemas/api/list-runs-query.schema.json: scalars only, known names only.
 */
export function parseListRunsQuery(raw: Record<string, unknown>): { filter: RunFilter; page: PageRequest } {
  assertMatchesSchema<ListRunsQuery>('api/list-runs-query.schema.json', raw, 'INPUT_INVALID', 'list_runs query');
  const query = raw as ListRunsQuery;
  const filter: RunFilter = {};
  if (query.status !== undefined) filter.status = query.status;
  if (query.owner !== undefined) filter.owner = query.owner;
  if (query.plan_id !== undefined) filter.plan_id = query.plan_id;
  if (query.parent_run_id !== undefined) filter.parent_run_id = query.parent_run_id;
  if (query.created_after !== undefined) filter.created_after = query.created_after;
  if (query.created_before !== undefined) filter.created_before = query.created_before;
  return {
    filter,
    page: { limit: query.limit ?? DEFAULT_PAGE_LIMIT, ...(query.cursor !== undefined ? { cursor: query.cursor } : {}) },
  };
}

/** A list_runs filter as a query on stored run documents (dates as Dates, as they are stored). */
export function storedRunFilter(filter: RunFilter): Filter {
  const query: Filter = {};
  if (filter.status !== undefined) query.status = filter.status;
  if (filter.owner !== undefined) query.owner = filter.owner;
  if (filter.plan_id !== undefined) query.plan_id = filter.plan_id;
  if (filter.parent_run_id !== undefined) query.parent_run_id = filter.parent_run_id;
  const createdAt: Record<string, Date> = {};
  if (filter.created_after !== undefined) createdAt.$gte = new Date(filter.created_after);
  if (filter.created_before !== undefined) createdAt.$lt = new Date(filter.created_before);
  if (Object.keys(createdAt).length > 0) query.created_at = createdAt;
  return query;
}
