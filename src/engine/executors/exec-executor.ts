import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { MaestroError } from '../../domain/errors.js';
import type { ExecWith } from '../../generated/schemas.js';
import type { StepExecutor } from '../step-context.js';
import { KILL_GRACE_MS } from '../stop-bound.js';
import { resolveInWorkspace } from '../workspace-path.js';

const LAST_LINE_BYTES = 256 * 1024;

/** Parses the last non-empty line of stdout as a JSON object, if it is one. */
function outputsFromLastLine(stdoutTail: string): Record<string, unknown> | undefined {
  const line = stdoutTail.trimEnd().split('\n').pop()?.trim();
  if (!line || !line.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trim() === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * Runs a program from an argv array, never through a shell unless `shell: true`. stdout and stderr go to the
 * attempt's log file; outputs come from `$MAESTRO_OUTPUT` or a final JSON line; a cost from `$MAESTRO_COST`.
 * The child gets its own process group so that cancellation, timeouts and a lost lease stop all of it.
 */
export const execExecutor: StepExecutor = {
  kind: 'exec',
  withSchema: 'steps/exec.schema.json',
  async execute(context) {
    const args = context.args as unknown as ExecWith;
    const cwd = resolveInWorkspace(context.workspace, args.cwd ?? '.', '$.with.cwd');
    const outputFile = `${context.logPath}.output.json`;
    const costFile = `${context.logPath}.cost`;
    const argv = args.command.map(String);
    const [program, ...rest] = args.shell ? ['/bin/sh', '-c', argv.join(' ')] : argv;
    const log = context.logger;
    log.write(`$ ${argv.map((part) => JSON.stringify(part)).join(' ')}\n`);

    const child = spawn(program!, rest, {
      cwd,
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
      },
    });
    let stdoutTail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk);
      stdoutTail = (stdoutTail + chunk.toString('utf8')).slice(-LAST_LINE_BYTES);
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
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
        child.once('error', fail);
        child.once('close', (exitCode, exitSignal) => done({ code: exitCode, signal: exitSignal }));
      }).catch((error: NodeJS.ErrnoException) => {
        throw new MaestroError('STEP_FAILED', `cannot start ${program}: ${error.code ?? error.message}`, {
          retryable: false,
          details: { path: '$.with.command[0]', got: program },
        });
      });
      if (context.signal.aborted) throw context.signal.reason;
      const costText = await readIfPresent(costFile);
      if (costText !== undefined && Number.isFinite(Number(costText))) context.reportCost(Number(costText));
      if (code !== 0) {
        throw new MaestroError('STEP_FAILED', `${program} exited with ${signal ? `signal ${signal}` : `code ${code}`}`, {
          details: { exit_code: code, signal, logs_ref: context.logPath },
        });
      }
      const outputText = await readIfPresent(outputFile);
      if (outputText !== undefined) {
        try {
          const parsed: unknown = JSON.parse(outputText);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return { outputs: parsed as Record<string, unknown> };
        } catch {
          // fall through to the error below
        }
        throw new MaestroError('STEP_FAILED', '$MAESTRO_OUTPUT does not hold a JSON object', { retryable: false });
      }
      return { outputs: outputsFromLastLine(stdoutTail) ?? {} };
    } finally {
      context.signal.removeEventListener('abort', onAbort);
      await rm(outputFile, { force: true });
      await rm(costFile, { force: true });
    }
  },
};
