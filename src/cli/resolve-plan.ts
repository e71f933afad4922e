import type { PlanDocument } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import type { RunStore } from '../store/port.js';

/** A full version is a sha256: 64 hex characters. `plans list` prints the first 12. */
const FULL_VERSION = /^[0-9a-f]{64}$/;

/**
 * The plan version a person names on the command line: a plan id or a plan name (the owner's, when one is given),
 * and a version as `plans list` prints it (a prefix of at least 6 characters) or whole; the newest without one.
 */
export async function resolvePlan(
  store: RunStore,
  reference: string,
  options: { version?: string | undefined; owner?: string | undefined },
): Promise<PlanDocument> {
  const planId = (await store.getPlan(reference)) ? reference : await planIdOfName(store, reference, options.owner);
  const { version } = options;
  const planDoc =
    version === undefined || FULL_VERSION.test(version)
      ? await store.getPlan(planId, version)
      : await versionByPrefix(store, planId, version);
  if (!planDoc)
    throw new MaestroError('PLAN_NOT_FOUND', `plan ${reference} has no version ${version}`, {
      details: { path: '--version' },
    });
  return planDoc;
}

async function planIdOfName(store: RunStore, name: string, owner: string | undefined): Promise<string> {
  const page = await store.listPlans({ name, ...(owner ? { owner } : {}) }, { limit: 1 });
  const newest = page.items[0];
  if (!newest)
    throw new MaestroError('PLAN_NOT_FOUND', `no plan with id or name ${name}`, { details: { path: 'plan_id' } });
  return newest.plan_id;
}

async function versionByPrefix(store: RunStore, planId: string, prefix: string): Promise<PlanDocument | undefined> {
  if (prefix.length < 6)
    throw new MaestroError('INPUT_INVALID', 'give at least 6 characters of a plan version', {
      details: { path: '--version', got: prefix },
    });
  const matching: PlanDocument[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listPlans({ plan_id: planId }, { limit: 100, ...(cursor ? { cursor } : {}) });
    matching.push(...page.items.filter((p) => p.version.startsWith(prefix)));
    cursor = page.next_cursor;
  } while (cursor);
  if (matching.length > 1)
    throw new MaestroError('INPUT_INVALID', `version ${prefix} names ${matching.length} versions; give more of it`, {
      details: { path: '--version', got: prefix },
    });
  return matching[0];
}
