import type { CommandModule } from 'yargs';
import { parseAge, pruneRuns } from '../../engine/runs/prune-runs.js';
import { emit, withEngine, type CommandIo, type GlobalArgs } from '../command-context.js';
import { formatTable } from '../render/table.js';

type PruneArgs = GlobalArgs & {
  'older-than': string;
  status: string;
  'dry-run': boolean;
  'include-provenance': boolean;
};

/** `maestro prune --older-than 30d`: retention by hand (a worker does it on its own with --prune-older-than). */
export function pruneCommand(io: CommandIo): CommandModule<GlobalArgs, PruneArgs> {
  return {
    command: 'prune',
    describe: 'Remove ended runs older than an age, with their steps, events, artifacts metadata and logs',
    builder: (y) =>
      y
        .option('older-than', {
          type: 'string',
          demandOption: true,
          describe: 'Age by when a run ended: 30d, 12h, 90m, 2w',
        })
        .option('status', {
          type: 'string',
          default: '',
          describe: 'Only runs that ended so: succeeded, failed, cancelled (comma-separated)',
        })
        .option('dry-run', { type: 'boolean', default: false, describe: 'Count what would go; change nothing' })
        .option('include-provenance', {
          type: 'boolean',
          default: false,
          describe:
            "Also remove the runs' claim-ledger manifests, attestations and OpenLineage files (kept by default)",
        }),
    handler: (args) =>
      withEngine(args, io, async ({ engine, store }) => {
        const report = await pruneRuns(store, {
          olderThanMs: parseAge(args['older-than']),
          statuses: args.status.split(',').map((s) => s.trim()),
          dryRun: args['dry-run'],
          includeProvenance: args['include-provenance'],
          workspace: engine.workspaceDirectory,
          now: new Date(),
        });
        emit(io, args, report, () => {
          const { removed } = report;
          const verb = report.dry_run ? 'would remove' : 'removed';
          return (
            `${verb}: runs that ended before ${report.cutoff}\n` +
            formatTable(
              ['RUNS', 'STEPS', 'EVENTS', 'ARTIFACTS', 'LOG_FILES', 'PROVENANCE_FILES'],
              [
                [
                  removed.runs,
                  removed.steps,
                  removed.events,
                  removed.artifacts,
                  removed.log_files,
                  removed.provenance_files,
                ].map(String),
              ],
            ) +
            (report.skipped.length > 0
              ? `left whole (a run of the tree has not ended): ${report.skipped.join(' ')}\n`
              : '')
          );
        });
      }),
  };
}
