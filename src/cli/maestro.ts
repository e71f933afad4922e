import yargs from 'yargs';
import { artifactsCommand } from './commands/artifacts-command.js';
import { graphCommand } from './commands/graph-command.js';
import { ledgerCommand } from './commands/ledger-command.js';
import { migrateCommand } from './commands/migrate-command.js';
import { plansCommand } from './commands/plans-command.js';
import { pruneCommand } from './commands/prune-command.js';
import { schedulesCommand } from './commands/schedules-command.js';
import { runsCommand } from './commands/runs-command.js';
import { serveCommand } from './commands/serve-command.js';
import { stepsCommand } from './commands/steps-command.js';
import { storeCommand } from './commands/store-command.js';
import { validateCommand } from './commands/validate-command.js';
import { verifyCommand } from './commands/verify-command.js';
import { workerCommand } from './commands/worker-command.js';
import { readCliEnvironment } from './cli-environment.js';
import { withGlobalOptions, type CommandIo, type GlobalArgs } from './command-context.js';
import { ExitCode, exitCodeOf } from './exit-codes.js';
import { errorAsJson, formatError } from './render/format-error.js';
import { MaestroError } from '../domain/errors.js';
import { packageVersion } from '../schema/schema-files.js';

/** `maestro <command>`: everything but running a plan in the foreground. Returns the exit code. */
export async function main(
  argv: string[],
  streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const env = readCliEnvironment();
  const io: CommandIo = { ...streams, env, exitCode: ExitCode.succeeded };
  const wantsJson = argv.includes('--json');
  // Only before a command: `plans show --version <v>` is a plan version.
  if (argv[0] === '--version') {
    streams.out.write(`${packageVersion()}\n`);
    return ExitCode.succeeded;
  }
  try {
    await withGlobalOptions(yargs(argv), env)
      .scriptName('maestro')
      .usage(
        '$0 <command>\n\nMaestro Conductor admin CLI. `maestro-run <plan.json>` runs a plan in the foreground.\n' +
          '`maestro --version` prints the version.',
      )
      .command(validateCommand(io))
      .command(graphCommand(io))
      .command(plansCommand(io))
      .command(runsCommand(io))
      .command(stepsCommand(io))
      .command(artifactsCommand(io))
      .command(serveCommand(io))
      .command(workerCommand(io))
      .command(migrateCommand(io))
      .command(storeCommand(io))
      .command(ledgerCommand(io))
      .command(pruneCommand(io))
      .command(schedulesCommand(io))
      .command(verifyCommand(io))
      .completion('completion', 'Print a shell completion script (bash/zsh)')
      .demandCommand(1, 'name a command; --help lists them')
      .strict()
      .exitProcess(false)
      .fail((message: string | null, error: Error | undefined) => {
        throw error ?? new MaestroError('INPUT_INVALID', message ?? 'invalid arguments');
      })
      .help()
      .version(false)
      .parseAsync();
    return io.exitCode;
  } catch (error) {
    streams.err.write(formatError(error));
    if (wantsJson) streams.out.write(errorAsJson(error));
    return exitCodeOf(error);
  }
}

export type { GlobalArgs };
