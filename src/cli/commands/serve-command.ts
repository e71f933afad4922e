import type { CommandModule } from 'yargs';
import { startApiServer } from '../../api/server.js';
import { DEFAULT_API_KINDS, parseKindPolicy } from '../../engine/trust/kind-policy.js';
import { parseAge } from '../../engine/runs/prune-runs.js';
import { parseRunnerLabels } from '../../engine/workers/runner-labels.js';
import { configureEngine, runnerEngineOptions } from '../open-engine.js';
import { schedulerClock } from '../scheduler-clock.js';
import { MaestroError } from '../../domain/errors.js';
import { logLevelOption, type CommandIo, type GlobalArgs } from '../command-context.js';

type ServeArgs = GlobalArgs & {
  host: string;
  port: number;
  tokens?: string;
  runner: boolean;
  labels?: string;
  'allow-kinds': string;
  log: boolean;
  'log-level': string;
  ui: boolean;
  'schedule-min-interval': string;
};

/** `maestro serve`: the HTTP API until SIGTERM/SIGINT, then a graceful drain. */
export function serveCommand(io: CommandIo): CommandModule<GlobalArgs, ServeArgs> {
  return {
    command: 'serve',
    describe: 'Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) and the web console (/console/)',
    builder: (y) =>
      y
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'Interface to bind (loopback by default)' })
        .option('port', { type: 'number', default: 8080 })
        .option('tokens', {
          type: 'string',
          default: io.env.tokensFile,
          describe: 'JSON tokens file (env MAESTRO_TOKENS_FILE)',
        })
        .option('allow-kinds', {
          type: 'string',
          default: io.env.allowKinds ?? DEFAULT_API_KINDS.join(','),
          describe:
            'Step kinds API plans may use and this runner executes: a list (exec, shell, …) or all (env MAESTRO_ALLOW_KINDS)',
        })
        .option('labels', {
          type: 'string',
          default: io.env.labels,
          describe:
            "Labels of the server's runner (gpu,eu): it takes steps whose runs_on it all has (env MAESTRO_LABELS)",
        })
        .option('runner', {
          type: 'boolean',
          default: true,
          describe: 'Execute runs in this process; --no-runner leaves them to workers',
        })
        .option('log', {
          type: 'boolean',
          default: false,
          describe: 'Log each request too (tokens and credential-like query values are redacted)',
        })
        .option('log-level', logLevelOption(io))
        .option('schedule-min-interval', {
          type: 'string',
          default: io.env.scheduleMinInterval ?? '1m',
          describe:
            'How close the ticks of a schedule created over the API may come: 1m, 30s… (env MAESTRO_SCHEDULE_MIN_INTERVAL)',
        })
        .option('ui', {
          type: 'boolean',
          default: true,
          describe: 'Serve the web console at /console/; --no-ui leaves only the API',
        }),
    handler: async (args) => {
      if (!args.tokens)
        throw new MaestroError('CONFIG_INVALID', 'serve needs --tokens <file> or MAESTRO_TOKENS_FILE', {
          details: { path: '--tokens' },
        });
      const scheduleMinIntervalMs = parseAge(args['schedule-min-interval'], '--schedule-min-interval');
      const server = await startApiServer({
        host: args.host,
        port: args.port,
        storeUrl: args.store,
        tokensFile: args.tokens,
        logger: args['log-level'] === 'silent' ? false : { level: args['log-level'], requests: args.log },
        inProcessRunner: args.runner,
        console: args.ui,
        scheduleMinIntervalMs,
        traced: io.env.traced,
        allowKinds: parseKindPolicy(args['allow-kinds']),
        // The global --hooks-config and --handlers, as every other runner command applies them.
        configure: (engine) =>
          configureEngine(engine, { hooksConfig: args['hooks-config'], handlersModule: args.handlers }),
        engine: {
          schedulerNow: schedulerClock(),
          // The server's runner shares steps with workers as a worker does.
          labels: parseRunnerLabels(args.labels),
          shareSteps: true,
          ...(io.env.leaseMs ? { leaseMs: io.env.leaseMs } : {}),
          ...(io.env.pollMs ? { pollMs: io.env.pollMs } : {}),
          ...(await runnerEngineOptions(
            {
              store: args.store,
              secrets: io.env.secrets,
              execInheritEnv: io.env.execInheritEnv,
              sandbox: io.env.sandbox,
              hooksConfig: args['hooks-config'],
              // The server's own runner runs what --allow-kinds lets in: exec there beside an open store is refused.
              ...(args.runner ? { allowKinds: parseKindPolicy(args['allow-kinds']) } : {}),
              allowOpenStore: args['allow-open-store'],
            },
            [args.tokens],
          )),
        },
      });
      io.err.write(`maestro API listening on ${server.url} (store ${server.store.backend})\n`);
      if (args.ui) io.err.write(`console: ${server.url}/console/ (sign in with a token of the tokens file)\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          io.err.write('draining requests and closing the store…\n');
          void server.close().then(resolve, resolve);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
    },
  };
}
