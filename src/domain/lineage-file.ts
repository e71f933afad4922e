import { join } from 'node:path';

/**
 * Where the built-in OpenLineage hook writes a run's events when no transport is configured: one JSON-lines file per
 * run, so retention can remove it with the run.
 */
export function lineageFileOf(workspace: string, runId: string): string {
  return join(workspace, '.maestro', 'openlineage', `${runId}.jsonl`);
}
