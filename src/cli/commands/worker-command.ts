import type { CommandModule } from 'yargs';
import { withEngine, type CommandIo, type GlobalArgs } from '../command-context.js';
import { parseKindPolicy } from '../../engine/kind-policy.js';
import { formatError } from '../render/format-error.js';
import { startMetricsServer } from '../../observability/metrics-server.js';
import { PrometheusTelemetry } from '../../observability/prometheus-telemetry.js';

type WorkerArgs = GlobalArgs & {
  'max-runs': number;
  'allow-kinds': string;
  'metrics-port'?: number;
  'metrics-host': string;
};

/** `maestro worker`: executes runs nobody attends (from the API, `--detach`, or a dead runner) until SIGTERM/SIGINT. */
export function workerCommand(io: CommandIo): CommandModule<GlobalArgs, WorkerArgs> {
  return {
    command: 'worker',
    describe: 'Poll the store and execute unattended runs; several workers on one MongoDB share the work',
    builder: (y) =>
      y
        .option('max-runs', { type: 'number', default: 4, describe: 'Runs driven at once' })
        .option('allow-kinds', {
          type: 'string',
          default: io.env.allowKinds ?? 'all',
          describe: 'Step kinds this worker executes: a list (exec, shell, …) or all (env MAESTRO_ALLOW_KINDS)',
        })
        .option('metrics-port', {
          type: 'number',
          describe: 'Serve Prometheus metrics at /metrics on this port (0: any)',
        })
        .option('metrics-host', { type: 'string', default: '127.0.0.1', describe: 'Address of the metrics port' }),
    handler: async (args) => {
      const telemetry = args['metrics-port'] === undefined ? undefined : new PrometheusTelemetry();
      const metrics = telemetry && (await startMetricsServer(telemetry, args['metrics-host'], args['metrics-port']!));
      if (metrics) io.err.write(`metrics on ${metrics.url}\n`);
      const allowKinds = parseKindPolicy(args['allow-kinds']);
      try {
        await withEngine({ ...args, allowKinds, ...(telemetry ? { telemetry } : {}) }, io, async ({ engine }) => {
          const stop = new AbortController();
          const onSignal = (): void => stop.abort();
          process.once('SIGTERM', onSignal);
          process.once('SIGINT', onSignal);
          io.err.write(`worker ${engine.runnerId} polling ${engine.store.backend}\n`);
          engine.events.on('event', (event) => {
            if (event.type.startsWith('run.')) io.err.write(`${event.at} ${event.run_id} ${event.type}\n`);
          });
          try {
            await engine.work({
              signal: stop.signal,
              maxRuns: args['max-runs'],
              onError: (error) => io.err.write(formatError(error)),
            });
          } finally {
            process.off('SIGTERM', onSignal);
            process.off('SIGINT', onSignal);
          }
        });
      } finally {
        await metrics?.close();
      }
    },
  };
}
