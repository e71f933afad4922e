import type { Lease } from '../../generated/schemas.js';

/** A lease owner that no runner ever is: steps waiting for an outside status update. */
export const EXTERNAL_LEASE_OWNER = 'external';

/** A lease that never expires: no runner takes over a step that waits for the outside. */
const FOREVER = '9999-12-31T23:59:59.999Z';

/** The lease of a step handed to the outside, keeping its fence so a late runner's write is still refused. */
export function externalLease(fence: number): Lease {
  return { owner: EXTERNAL_LEASE_OWNER, expires_at: FOREVER, fence };
}
