import type { CommandModule } from 'yargs';
import { pino } from 'pino';
import { logLevelOption, withEngine, type CommandIo, type GlobalArgs } from '../command-context.js';
import { toMaestroError } from '../../domain/errors.js';
import { logRunEvents } from '../../observability/run-event-log.js';
import { scheduleLog } from '../../observability/schedule-log.js';
import { parseKindPolicy } from '../../engine/trust/kind-policy.js';
import { DEFAULT_CONCURRENCY } from '../../engine/engine-options.js';
import { parseRunnerLabels } from '../../engine/workers/runner-labels.js';
import { positiveCount } from '../positive-count.js';
import { parseAge, pruneRuns } from '../../engine/runs/prune-runs.js';
import { startMetricsServer } from '../../observability/metrics-server.js';
import { PrometheusTelemetry } from '../../observability/prometheus-telemetry.js';

type WorkerArgs = GlobalArgs & {
  'max-runs': number;
  'max-attempts': number;
  labels?: string;
  'allow-kinds': string;
  'metrics-port'?: number;
  'metrics-host': string;
  'log-level': string;
  'prune-older-than'?: string;
};

// A worker that prunes does it when it starts, then this often.
const PRUNE_EVERY_MS = 3_600_000;

/** `maestro worker`: executes runs nobody attends (from the API, `--detach`, or a dead runner) until SIGTERM/SIGINT. */
export function workerCommand(io: CommandIo): CommandModule<GlobalArgs, WorkerArgs> {
  return {
    command: 'worker',
    describe: 'Poll the store and execute unattended runs; several workers on one MongoDB share the work',
    builder: (y) =>
      y
        .option('max-runs', { type: 'number', default: 4, describe: 'Runs driven at once' })
        .option('max-attempts', {
          type: 'number',
          default: DEFAULT_CONCURRENCY,
          describe: 'Step attempts executed at once, of the runs driven here and of those other drivers offer',
        })
        .option('labels', {
          type: 'string',
          default: io.env.labels,
          describe: 'Labels of this worker (gpu,eu): it takes steps whose runs_on it all has (env MAESTRO_LABELS)',
        })
        .option('allow-kinds', {
          type: 'string',
          default: io.env.allowKinds ?? 'all',
          describe: 'Step kinds this worker executes: a list (exec, shell, …) or all (env MAESTRO_ALLOW_KINDS)',
        })
        .option('metrics-port', {
          type: 'number',
          describe: 'Serve Prometheus metrics at /metrics on this port (0: any)',
        })
        .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'Address of the metrics port' })
        .option('log-level', logLevelOption(io))
        .option('prune-older-than', {
          type: 'string',
          describe: 'Also remove ended runs older than this (30d, 12h…) at start and hourly, as `maestro prune` does',
        }),
    handler: async (args) => {
      const telemetry = args['metrics-port'] === undefined ? undefined : new PrometheusTelemetry();
      const metrics = telemetry && (await startMetricsServer(telemetry, args['metrics-host'], args['metrics-port']!));
      if (metrics) io.err.write(`metrics on ${metrics.url}\n`);
      const allowKinds = parseKindPolicy(args['allow-kinds']);
      const sharing = {
        labels: parseRunnerLabels(args.labels),
        concurrency: positiveCount(args['max-attempts'], '--max-attempts'),
        shareSteps: true,
      };
      const pruneAgeMs =
        args['prune-older-than'] === undefined ? undefined : parseAge(args['prune-older-than'], '--prune-older-than');
      try {
        await withEngine(
          { ...args, allowKinds, sharing, ...(telemetry ? { telemetry } : {}) },
          io,
          async ({ engine }) => {
            const stop = new AbortController();
            const onSignal = (): void => stop.abort();
            process.once('SIGTERM', onSignal);
            process.once('SIGINT', onSignal);
            const logger = pino({ level: args['log-level'], base: { runner: engine.runnerId } }, io.out);
            logger.info(
              { store: engine.store.backend, max_runs: args['max-runs'], ...sharing, shareSteps: undefined },
              'worker polling',
            );
            logRunEvents(engine.events, logger);
            const prune = async (): Promise<void> => {
              try {
                const report = await pruneRuns(engine.store, {
                  olderThanMs: pruneAgeMs!,
                  statuses: [],
                  dryRun: false,
                  includeProvenance: false,
                  workspace: engine.workspaceDirectory,
                  now: new Date(),
                });
                logger.info(
                  { cutoff: report.cutoff, removed: report.removed, skipped: report.skipped },
                  'pruned ended runs',
                );
              } catch (error) {
                logger.error({ err: toMaestroError(error) }, 'pruning failed; the worker goes on');
              }
            };
            const pruning = pruneAgeMs === undefined ? undefined : setInterval(() => void prune(), PRUNE_EVERY_MS);
            if (pruneAgeMs !== undefined) void prune();
            // Schedules are fired by every worker; a tick's run is created once however many fire it.
            const scheduling = engine.runSchedules(stop.signal, scheduleLog(logger));
            try {
              await engine.work({
                signal: stop.signal,
                maxRuns: args['max-runs'],
                onError: (error) => logger.error({ err: toMaestroError(error) }, 'run stopped on this worker'),
              });
              await scheduling;
            } finally {
              clearInterval(pruning);
              process.off('SIGTERM', onSignal);
              process.off('SIGINT', onSignal);
            }
          },
        );
      } finally {
        await metrics?.close();
      }
    },
  };
}
