import { closeSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { StepDocument } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import { isTerminalRunStatus } from '../domain/status.js';
import { stepLogPath } from '../engine/step-log.js';
import type { RunStore } from '../store/port.js';
import { stripControlSequences } from './render/terminal-text.js';

const POLL_MS = 200;

/**
 * `runs logs <run> --step <key> -f`: prints the step's log as its attempt writes it, from the attempt's log file
 * under this workspace's `.maestro/logs` (the runner writes it there; the step's `logs_ref` is only recorded when
 * the attempt ends), and returns once that attempt has ended and its log is printed whole. A step not started yet
 * is waited for; one that has ended already is printed and done.
 */
export async function followStepLog(
  store: RunStore,
  runId: string,
  stepKey: string,
  out: NodeJS.WritableStream,
  options: { workspace?: string; pollMs?: number; signal?: AbortSignal } = {},
): Promise<StepDocument> {
  const logsDir = join(options.workspace ?? process.cwd(), '.maestro', 'logs');
  const pollMs = options.pollMs ?? POLL_MS;
  let followed: { attempt: number; path: string; offset: number; decoder: StringDecoder } | undefined;
  for (;;) {
    const step = await stepOf(store, runId, stepKey);
    const attemptRunning = step.status === 'running';
    if (step.attempt > 0 && followed?.attempt !== step.attempt) {
      // A retry starts a new file: finish nothing of the old one (it ended), announce the new one.
      followed = {
        attempt: step.attempt,
        path: attemptRunning ? stepLogPath(logsDir, runId, step.key, step.attempt) : (step.logs_ref ?? ''),
        offset: 0,
        decoder: new StringDecoder('utf8'),
      };
      out.write(stripControlSequences(`==> ${step.key} (attempt ${step.attempt})\n`));
    }
    if (followed) {
      const text = readFrom(logsDir, followed);
      if (text) out.write(stripControlSequences(text));
    }
    // Ended: what the runner wrote before recording the end is in the file, and was just read. A step pending
    // for its retry is followed into the next attempt, unless its run has ended without it.
    if (step.attempt > 0 && !attemptRunning && step.status !== 'pending') return step;
    if (!attemptRunning && isTerminalRunStatus((await store.getRun(runId))?.status ?? 'cancelled')) return step;
    if (options.signal?.aborted) return step;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

async function stepOf(store: RunStore, runId: string, stepKey: string): Promise<StepDocument> {
  const steps = await store.listSteps(runId);
  const step = steps.find((s) => s.key === stepKey);
  if (!step)
    throw new MaestroError('STEP_NOT_FOUND', `run ${runId} has no step ${stepKey}`, { details: { path: '--step' } });
  return step;
}

/** The bytes added to the log since the last read, decoded (a character split across reads waits for its end). */
function readFrom(logsDir: string, followed: { path: string; offset: number; decoder: StringDecoder }): string {
  let fd: number;
  try {
    // A ref reported over the API may name any file: only logs under this workspace's .maestro/logs are opened.
    const real = realpathSync(followed.path);
    const rel = relative(realpathSync(logsDir), real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return '';
    fd = openSync(real, 'r');
  } catch {
    return ''; // not written yet
  }
  try {
    const chunks: string[] = [];
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, followed.offset);
      if (read === 0) break;
      followed.offset += read;
      chunks.push(followed.decoder.write(buffer.subarray(0, read)));
    }
    return chunks.join('');
  } finally {
    closeSync(fd);
  }
}
