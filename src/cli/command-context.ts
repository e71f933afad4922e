import type { Argv, CommandModule } from 'yargs';
import type { Telemetry } from '../domain/telemetry.js';
import type { KindPolicy } from '../engine/trust/kind-policy.js';
import { readCliEnvironment, type CliEnvironment } from './cli-environment.js';
import { openCliEngine, type CliEngineOptions } from './open-engine.js';
import { ALLOW_OPEN_STORE_ENV, allowOpenStoreFromEnv } from './open-store-guard.js';

/** Options every `maestro` command understands. */
export interface GlobalArgs {
  store: string;
  json: boolean;
  owner?: string;
  handlers?: string;
  'hooks-config'?: string;
  'allow-open-store'?: boolean;
}

export interface CommandIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: CliEnvironment;
  /** Set by a command to choose the process exit code. */
  exitCode: number;
}

export function withGlobalOptions<T>(argv: Argv<T>, env: CliEnvironment = readCliEnvironment()) {
  return argv
    .option('store', {
      type: 'string',
      default: env.store,
      global: true,
      describe: 'Store URL: sqlite://file, memory://, mongodb://… (env MAESTRO_STORE)',
    })
    .option('json', { type: 'boolean', default: false, global: true, describe: 'Machine-readable JSON output' })
    .option('owner', {
      type: 'string',
      default: env.owner,
      global: true,
      describe: 'Owner of what is created (env MAESTRO_OWNER)',
    })
    .option('handlers', {
      type: 'string',
      default: env.handlersModule,
      global: true,
      describe: 'A module exporting register(engine) (env MAESTRO_HANDLERS)',
    })
    .option('hooks-config', {
      type: 'string',
      default: env.hooksConfig,
      global: true,
      describe: 'Hooks config file (env MAESTRO_HOOKS_CONFIG)',
    })
    .option('allow-open-store', {
      type: 'boolean',
      default: allowOpenStoreFromEnv(),
      global: true,
      describe: `Run exec steps even beside a MongoDB on this host that needs no credentials (env ${ALLOW_OPEN_STORE_ENV}=1)`,
    });
}

/** Opens the engine of a command, runs `work`, and always closes the store. `readOnly` commands run no steps. */
export async function withEngine<T>(
  args: GlobalArgs & {
    allowKinds?: KindPolicy;
    telemetry?: Telemetry;
    readOnly?: boolean;
    sharing?: CliEngineOptions['sharing'];
  },
  io: CommandIo,
  work: (session: Awaited<ReturnType<typeof openCliEngine>>) => Promise<T>,
): Promise<T> {
  const session = await openCliEngine({
    store: args.store,
    owner: args.owner,
    leaseMs: io.env.leaseMs,
    pollMs: io.env.pollMs,
    handlersModule: args.handlers,
    hooksConfig: args['hooks-config'],
    storeOutageMs: io.env.storeOutageMs,
    secrets: io.env.secrets,
    execInheritEnv: io.env.execInheritEnv,
    sandbox: io.env.sandbox,
    ...(args.allowKinds ? { allowKinds: args.allowKinds } : {}),
    ...(args.telemetry ? { telemetry: args.telemetry } : {}),
    ...(args.readOnly ? { readOnly: true } : {}),
    ...(args.sharing ? { sharing: args.sharing } : {}),
    traced: io.env.traced,
    ...(args['allow-open-store'] === undefined ? {} : { allowOpenStore: args['allow-open-store'] }),
  });
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

/** Prints JSON in --json mode, else the human form. */
export function emit(io: CommandIo, args: GlobalArgs, data: unknown, human: () => string): void {
  io.out.write(args.json ? `${JSON.stringify(data, null, 2)}\n` : human());
}

/**
 * One subcommand of a command group, typed by its own arguments. yargs' generics cannot follow nested
 * command builders, so the cast lives here once.
 */
export function subcommand<A extends GlobalArgs>(module: {
  command: string;
  describe: string;
  builder?: (y: Argv<A>) => Argv<A> | Argv<unknown>;
  handler: (args: A) => Promise<void> | void;
}): CommandModule<GlobalArgs, GlobalArgs> {
  return module as unknown as CommandModule<GlobalArgs, GlobalArgs>;
}

/** The levels `--log-level` and MAESTRO_LOG_LEVEL take (pino's). */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `--log-level` of the commands that log JSON lines (`maestro worker`, `maestro serve`). */
export function logLevelOption(io: CommandIo) {
  return {
    type: 'string',
    default: io.env.logLevel,
    choices: LOG_LEVELS,
    describe: 'Level of the JSON log lines on stdout (env MAESTRO_LOG_LEVEL)',
  } as const;
}

/** withEngine for a command that only reads. */
export function withReadOnlyEngine<T>(
  args: GlobalArgs,
  io: CommandIo,
  work: (session: Awaited<ReturnType<typeof openCliEngine>>) => Promise<T>,
): Promise<T> {
  return withEngine({ ...args, readOnly: true }, io, work);
}
