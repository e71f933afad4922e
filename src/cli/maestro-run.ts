import yargs from 'yargs';
import type { RunDocument } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import { isTerminalRunStatus } from '../domain/status.js';
import { packageVersion } from '../schema/schema-files.js';
import { readCliEnvironment } from './cli-environment.js';
import { ExitCode, exitCodeOf, exitCodeOfRunStatus } from './exit-codes.js';
import { openCliEngine } from './open-engine.js';
import { parseRunnerLabels } from '../engine/workers/runner-labels.js';
import { ALLOW_OPEN_STORE_ENV, allowOpenStoreFromEnv } from './open-store-guard.js';
import { parseLabels, readRunInputs } from './parse-inputs.js';
import { errorAsJson, formatError } from './render/format-error.js';
import { LiveRunView, logTail } from './render/live-run-view.js';

interface RunArgs {
  plan?: string;
  input: string[];
  inputs?: string;
  store: string;
  json: boolean;
  detach: boolean;
  resume?: string;
  owner?: string;
  label: string[];
  'idempotency-key'?: string;
  handlers?: string;
  'hooks-config'?: string;
  'allow-open-store': boolean;
  'runner-labels'?: string;
}

/**
 * A run another runner holds is taken over only once its lease expires: up to a whole lease of silence, unless
 * this says what it waits for. A live holder renews its lease, and then the wait lasts as long as it runs.
 */
function sayWhatResumeWaitsFor(run: RunDocument, err: NodeJS.WritableStream): void {
  if (!run.lease || isTerminalRunStatus(run.status) || Date.parse(run.lease.expires_at) <= Date.now()) return;
  err.write(
    `run ${run.run_id} is held by runner ${run.lease.owner} until ${run.lease.expires_at}: waiting for that runner ` +
      'to let go or for its lease to expire (a runner still alive renews it)\n',
  );
}

/** `maestro-run <plan.json>`: validate, start and execute a plan, with a live view on a TTY. Returns the exit code. */
export async function main(
  argv: string[],
  io: { out: NodeJS.WriteStream; err: NodeJS.WriteStream } = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const env = readCliEnvironment();
  let args: RunArgs;
  try {
    args = await yargs(argv)
      .scriptName('maestro-run')
      .usage('$0 [plan.json]\n\nValidates a plan, starts a run and executes it to its end.')
      .positional('plan', { type: 'string', describe: 'The plan file' })
      .option('input', {
        alias: 'i',
        type: 'string',
        array: true,
        default: [],
        describe: 'A run input as key=value (JSON values allowed); repeatable',
      })
      .option('inputs', { type: 'string', describe: 'A JSON file of run inputs' })
      .option('store', {
        type: 'string',
        default: env.store,
        describe: 'Store URL: sqlite://file, memory://, mongodb://… (env MAESTRO_STORE)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print events and the result as JSON lines' })
      .option('detach', {
        type: 'boolean',
        default: false,
        describe: 'Only create the run (a `maestro worker` executes it)',
      })
      .option('resume', { type: 'string', describe: 'Continue the run with this id instead of starting one' })
      .option('owner', {
        type: 'string',
        default: env.owner,
        describe: 'Owner of the plan and run (env MAESTRO_OWNER)',
      })
      .option('label', { type: 'string', array: true, default: [], describe: 'A run label key=value; repeatable' })
      .option('idempotency-key', { type: 'string', describe: 'Starting twice with one key gives the same run' })
      .option('handlers', {
        type: 'string',
        default: env.handlersModule,
        describe: 'A module exporting register(engine) (env MAESTRO_HANDLERS)',
      })
      .option('hooks-config', {
        type: 'string',
        default: env.hooksConfig,
        describe: 'Hooks config file (env MAESTRO_HOOKS_CONFIG)',
      })
      .option('runner-labels', {
        type: 'string',
        default: env.labels,
        describe:
          'Labels of this runner (gpu,eu): it runs steps whose runs_on it all has; others wait for a worker that has them (env MAESTRO_LABELS)',
      })
      .option('allow-open-store', {
        type: 'boolean',
        default: allowOpenStoreFromEnv(),
        describe: `Run exec steps even beside a MongoDB on this host that needs no credentials (env ${ALLOW_OPEN_STORE_ENV}=1)`,
      })
      .check((parsed) => {
        if (parsed.help || parsed.version) return true;
        if (!parsed._[0] && !parsed.resume) throw new Error('give a plan file, or --resume <run_id>');
        return true;
      })
      .strictOptions()
      .exitProcess(false)
      .fail((message: string | null, error: Error | undefined) => {
        throw new MaestroError('INPUT_INVALID', message ?? error?.message ?? 'invalid arguments');
      })
      .help()
      .version(packageVersion())
      .parseAsync();
    const planArgument = (args as unknown as { _: Array<string | number> })._[0];
    args.plan = planArgument === undefined || planArgument === '' ? undefined : String(planArgument);
  } catch (error) {
    io.err.write(formatError(error));
    return ExitCode.invalidInput;
  }
  // yargs has printed the help or the version.
  const asked = args as unknown as { help?: boolean; version?: boolean };
  if (asked.help || asked.version) return ExitCode.succeeded;

  const json = args.json || !io.out.isTTY;
  const report = (error: unknown): number => {
    io.err.write(formatError(error));
    if (json) io.out.write(errorAsJson(error));
    return exitCodeOf(error);
  };

  let session: Awaited<ReturnType<typeof openCliEngine>>;
  try {
    session = await openCliEngine({
      store: args.store,
      owner: args.owner,
      leaseMs: env.leaseMs,
      pollMs: env.pollMs,
      handlersModule: args.handlers,
      hooksConfig: args['hooks-config'],
      storeOutageMs: env.storeOutageMs,
      secrets: env.secrets,
      execInheritEnv: env.execInheritEnv,
      sandbox: env.sandbox,
      traced: env.traced,
      allowOpenStore: args['allow-open-store'],
      sharing: { labels: parseRunnerLabels(args['runner-labels'], '--runner-labels') },
    });
  } catch (error) {
    return report(error);
  }
  const { engine, store } = session;
  // An object, not a let: the flag is set in the signal handler, after the code below has read it once.
  const interruption = { requested: false };
  let runId: string | undefined;
  const onSigint = (): void => {
    if (interruption.requested || !runId) return;
    interruption.requested = true;
    io.err.write('\ninterrupted: cancelling the run…\n');
    void engine.cancelRun(runId).catch(() => undefined);
  };
  // JSON mode prints every stored event of this process's runs (children included), from run.created on.
  if (json && !args.detach)
    engine.events.on('event', (event) => io.out.write(`${JSON.stringify({ type: 'event', event })}\n`));
  try {
    let run: RunDocument;
    if (args.resume) {
      const existing = await store.getRun(args.resume);
      if (!existing)
        throw new MaestroError('RUN_NOT_FOUND', `no run ${args.resume}`, { details: { path: '--resume' } });
      run = existing;
      sayWhatResumeWaitsFor(existing, io.err);
    } else {
      const planDoc = await engine.applyPlanFile(args.plan!, args.owner);
      const inputs = readRunInputs(args.inputs, args.input);
      run = (
        await engine.startRun(planDoc, {
          inputs,
          labels: parseLabels(args.label),
          ...(args.owner ? { owner: args.owner } : {}),
          ...(args['idempotency-key'] ? { idempotencyKey: args['idempotency-key'] } : {}),
        })
      ).run;
    }
    runId = run.run_id;
    if (args.detach) {
      io.out.write(json ? `${JSON.stringify({ type: 'run', run })}\n` : `${run.run_id}\n`);
      return ExitCode.succeeded;
    }

    const view = json ? undefined : new LiveRunView(io.out, store, run.run_id, !env.noColor);
    engine.events.on('event', () => view?.changed());
    process.on('SIGINT', onSigint);
    // Also for a run that already ended: its hooks get any event the runner that ended it did not deliver.
    const ended = (await engine.executeRun(run.run_id)) ?? run;
    await view?.finish();
    const detail = await engine.getRunDetail(ended.run_id);
    if (json) {
      io.out.write(
        `${JSON.stringify({ type: 'result', run: detail.run, steps: detail.steps, artifacts: detail.artifacts })}\n`,
      );
      const failed = detail.steps.find((step) => step.status === 'failed' && step.uses !== undefined);
      if (failed)
        io.err.write(
          `step ${failed.key} failed: ${failed.error_info?.message ?? ''}\n${(await logTail(store, failed))
            .map((line) => `  | ${line}`)
            .join('\n')}\n`,
        );
    }
    if (interruption.requested) return ExitCode.interrupted;
    return exitCodeOfRunStatus(ended.status);
  } catch (error) {
    return report(error);
  } finally {
    process.off('SIGINT', onSigint);
    await session.close();
  }
}
