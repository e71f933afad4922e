import type { ListRunsQuery } from '../generated/schemas.js';
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
