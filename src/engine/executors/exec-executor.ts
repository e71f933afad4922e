import { spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaestroError } from '../../domain/errors.js';
import { Limits } from '../../domain/json-limits.js';
import type { ExecWith } from '../../generated/schemas.js';
import type { StepExecutor } from './step-context.js';
import { KILL_GRACE_MS } from '../attempts/stop-bound.js';
import { resolveInWorkspace } from '../trust/workspace-path.js';
import { readStepWrittenFile } from '../trust/no-follow-file.js';
import { sandboxedArgv, sandboxUser } from './exec-sandbox.js';
import { LastLine } from './last-line.js';

/** After the program itself exited, how long its output pipes may stay open (held by a detached descendant). */
const PIPE_CLOSE_GRACE_MS = 1_000;

/** A cost is one number: a file longer than this is not one. */
const COST_FILE_BYTES = 1024;

async function readIfPresent(path: string, label: string, maxBytes: number): Promise<string | undefined> {
  const text = await readStepWrittenFile(path, label, maxBytes);
  return text === undefined || text.trim() === '' ? undefined : text;
}

/** Starts the program; a spawn that throws at once leaves no attempt directory behind. */
function spawnCleaningUp<T>(directory: string, start: () => T): T {
  try {
    return start();
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A directory of this attempt alone for $MAESTRO_OUTPUT and $MAESTRO_COST, made fresh (mkdtemp: never one a step
 * prepared) away from the logs, so a step cannot reach where the runner writes; the sandboxed step's user owns it.
 */
function attemptDirectory(sandboxed: boolean): string {
  const directory = mkdtempSync(join(tmpdir(), 'maestro-attempt-'));
  const user = sandboxed ? sandboxUser() : undefined;
  if (user) chownSync(directory, user.uid, user.gid);
  return directory;
}

/**
 * Runs a program from an argv array, never through a shell unless `shell: true`, and then `command[0]` is the
 * script and the rest are its positional arguments ($1, $2, …): values reach the shell as arguments, never as
 * script text. stdout and stderr go to the attempt's log; outputs come from `$MAESTRO_OUTPUT` or a final JSON
 * line; a cost from `$MAESTRO_COST`, both in the attempt's own directory and read without following links. The program runs in its own process group, inside the sandbox when there is
 * one, so cancellation, timeouts and a lost lease stop all of it.
 */
export const execExecutor: StepExecutor = {
  kind: 'exec',
  withSchema: 'steps/exec.schema.json',
  async execute(context) {
    const args = context.args as unknown as ExecWith;
    const cwd = resolveInWorkspace(context.workspace, args.cwd ?? '.', '$.with.cwd');
    const sandbox = context.sandbox;
    const directory = attemptDirectory(sandbox !== undefined);
    const outputFile = join(directory, 'output.json');
    const costFile = join(directory, 'cost');
    const argv = args.command.map(String);
    const [program, ...rest] = args.shell ? ['/bin/sh', '-c', argv[0]!, 'sh', ...argv.slice(1)] : argv;
    const log = context.logger;
    log.write(`$ ${argv.map((part) => JSON.stringify(part)).join(' ')}\n`);

    const launched = sandbox
      ? sandboxedArgv(program!, rest, {
          workspace: context.workspace,
          attemptDirectory: directory,
          readOnly: sandbox.readOnly,
          hidden: sandbox.hidden,
          cwd,
        })
      : { program: program!, args: rest };
    const child = spawnCleaningUp(directory, () =>
      spawn(launched.program, launched.args, {
        cwd,
        ...(launched.uid === undefined ? {} : { uid: launched.uid, gid: launched.gid }),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...context.environment,
          ...args.env,
          MAESTRO_RUN_ID: context.run.run_id,
          MAESTRO_STEP_KEY: context.step.key,
          MAESTRO_ATTEMPT: String(context.attempt),
          MAESTRO_IDEMPOTENCY_KEY: context.idempotencyKey,
          MAESTRO_OUTPUT: outputFile,
          MAESTRO_COST: costFile,
          // The W3C name OpenTelemetry SDKs and tools read to continue a trace.
          ...(context.traceparent ? { TRACEPARENT: context.traceparent } : {}),
        },
      }),
    );
    const lastLine = new LastLine();
    child.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk);
      lastLine.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => log.write(chunk));

    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const onAbort = (): void => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    };
    context.signal.addEventListener('abort', onAbort, { once: true });

    try {
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (done, fail) => {
          child.once('error', fail);
          child.once('close', (exitCode, exitSignal) => done({ code: exitCode, signal: exitSignal }));
          // A descendant that left the process group (setsid) may hold the pipes open: the step ends with its program.
          child.once('exit', (exitCode, exitSignal) => {
            // A stopped step's group goes at once when its leader is gone. In the sandbox the PID namespace's init
            // ignores SIGTERM from outside, and bubblewrap stopped early in its setup may not have armed the
            // die-with-parent signal yet: what is left of the group would otherwise wait for the SIGKILL grace.
            if (context.signal.aborted) killGroup('SIGKILL');
            setTimeout(() => {
              child.stdout.destroy();
              child.stderr.destroy();
              done({ code: exitCode, signal: exitSignal });
            }, PIPE_CLOSE_GRACE_MS).unref();
          });
        },
      ).catch((error: NodeJS.ErrnoException) => {
        throw new MaestroError('STEP_FAILED', `cannot start ${program}: ${error.code ?? error.message}`, {
          retryable: false,
          details: { path: '$.with.command[0]', got: program },
        });
      });
      if (context.signal.aborted) throw context.signal.reason;
      const costText = await readIfPresent(costFile, '$MAESTRO_COST', COST_FILE_BYTES);
      if (costText !== undefined && Number.isFinite(Number(costText))) context.reportCost(Number(costText));
      if (code !== 0) {
        throw new MaestroError(
          'STEP_FAILED',
          `${program} exited with ${signal ? `signal ${signal}` : `code ${code}`}`,
          {
            details: { exit_code: code, signal, logs_ref: context.logPath },
          },
        );
      }
      const outputText = await readIfPresent(outputFile, '$MAESTRO_OUTPUT', Limits.outputsBytes);
      if (outputText !== undefined) {
        try {
          const parsed: unknown = JSON.parse(outputText);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
            return { outputs: parsed as Record<string, unknown> };
        } catch {
          // fall through to the error below
        }
        throw new MaestroError('STEP_FAILED', '$MAESTRO_OUTPUT does not hold a JSON object', { retryable: false });
      }
      return { outputs: lastLine.outputs() ?? {} };
    } finally {
      context.signal.removeEventListener('abort', onAbort);
      // rm does not follow links: whatever the step left there goes, nothing elsewhere.
      await rm(directory, { recursive: true, force: true });
    }
  },
};
