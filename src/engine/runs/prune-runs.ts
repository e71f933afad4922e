import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunDocument } from '../../generated/schemas.js';
import { isMaestroError, MaestroError } from '../../domain/errors.js';
import { lineageFileOf } from '../../domain/lineage-file.js';
import type { RunStore, RunTreeRemoval } from '../../store/port.js';

const BATCH = 100;
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** The longest age: 100,000 years, so that now minus the age is always a date JavaScript can hold. */
const MAX_AGE_MS = 100_000 * 365 * UNITS.d!;

/** `30d`, `12h`, `90m`, `45s`, `2w` as milliseconds; INPUT_INVALID naming `field` otherwise. */
export function parseAge(text: string, field = '--older-than'): number {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNITS[match[2]!]! : Number.NaN;
  if (!(ms > 0 && ms <= MAX_AGE_MS))
    throw new MaestroError(
      'INPUT_INVALID',
      `${field} takes an age such as 30d, 12h, 90m or 2w, at most 5214285w (100,000 years); got "${text.slice(0, 100)}"`,
      { details: { path: field, got: text.slice(0, 100), expected: 'a whole number and s, m, h, d or w' } },
    );
  return ms;
}

export interface PruneOptions {
  olderThanMs: number;
  /** Only runs that ended with one of these (succeeded, failed, cancelled); all ended runs when empty. */
  statuses: readonly string[];
  dryRun: boolean;
  /**
   * Also the runs' claim-ledger manifests, attestations and default OpenLineage files (kept by default: they are the
   * audit trail).
   */
  includeProvenance: boolean;
  /** The runner's workspace: its `.maestro/logs/<run_id>/` are removed with the runs. */
  workspace: string;
  now: Date;
}

export interface PruneReport {
  dry_run: boolean;
  cutoff: string;
  run_ids: string[];
  /** Root runs left whole because a run of their tree has not ended. */
  skipped: string[];
  removed: RunTreeRemoval['removed'] & { log_files: number; provenance_files: number };
}

/**
 * Removes ended runs older than the cutoff (by when they ended), a root run's tree at a time, with their steps,
 * events, artifacts' metadata and local log files; a run that has not ended, or whose root has not, is never
 * touched. With `dryRun` it counts what it would remove and changes nothing.
 */
export async function pruneRuns(store: RunStore, options: PruneOptions): Promise<PruneReport> {
  const statuses = options.statuses.filter((status) => status !== '');
  for (const status of statuses)
    if (!['succeeded', 'failed', 'cancelled'].includes(status))
      throw new MaestroError(
        'INPUT_INVALID',
        `--status takes ended statuses (succeeded, failed, cancelled); got ${status}`,
        {
          details: { path: '--status', got: status },
        },
      );
  const cutoff = new Date(options.now.getTime() - options.olderThanMs).toISOString();
  const report: PruneReport = {
    dry_run: options.dryRun,
    cutoff,
    run_ids: [],
    skipped: [],
    removed: { runs: 0, steps: 0, events: 0, artifacts: 0, log_files: 0, provenance_files: 0 },
  };
  let after: RunDocument | undefined;
  for (;;) {
    const roots = await store.listEndedRootRuns(cutoff, statuses, BATCH, after);
    if (roots.length === 0) return report;
    for (const root of roots) {
      let removal: RunTreeRemoval;
      try {
        removal = await store.removeRunTree(root.run_id, options.dryRun);
      } catch (error) {
        // A tree with a run that has not ended stays whole, and is said; the others go on.
        if (!isMaestroError(error, 'CONFLICT')) throw error;
        report.skipped.push(root.run_id);
        continue;
      }
      const { run_ids, removed } = removal;
      report.run_ids.push(...run_ids);
      for (const key of ['runs', 'steps', 'events', 'artifacts'] as const) report.removed[key] += removed[key];
      for (const runId of run_ids) {
        report.removed.log_files += removeFiles([join(options.workspace, '.maestro', 'logs', runId)], options.dryRun);
        if (options.includeProvenance)
          report.removed.provenance_files += removeFiles(
            [
              join(options.workspace, '.maestro', 'ledger', `${runId}.json`),
              join(options.workspace, '.maestro', 'attestations', `${runId}.dsse.json`),
              lineageFileOf(options.workspace, runId),
            ],
            options.dryRun,
          );
      }
    }
    after = roots.at(-1);
  }
}

/** Files under the paths (a directory counts its files), removed unless only counted. */
function removeFiles(paths: string[], dryRun: boolean): number {
  let count = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    count += countFiles(path);
    if (!dryRun) rmSync(path, { recursive: true, force: true });
  }
  return count;
}

function countFiles(path: string): number {
  try {
    return readdirSync(path, { withFileTypes: true }).reduce(
      (total, entry) => total + (entry.isDirectory() ? countFiles(join(path, entry.name)) : 1),
      0,
    );
  } catch {
    return 1; // a file, not a directory
  }
}
