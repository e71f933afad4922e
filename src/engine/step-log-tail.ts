import { closeSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import type { StepDocument } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import { isTerminalRunStatus } from '../domain/status.js';
import type { RunStore } from '../store/port.js';
import { stepLogPath } from './step-log.js';

export interface StepLogTail {
  store: RunStore;
  /**
   * The runner's logs directory. The file read is the one the runner writes for the attempt (`stepLogPath` of the run,
   * the step's key and the attempt), never the step's `logs_ref`: a ref reported from outside is shown, not opened.
   */
  logsDir: string;
  runId: string;
  stepId: string;
  /** Which attempt: by default the step's current one (waiting for the first when it has not started). */
  attempt?: number;
  /** Bytes of the log already had. */
  offset?: number;
  /** Keep reading while the attempt runs; otherwise return what is there now. */
  follow: boolean;
  pollMs?: number;
  /** Gets each piece of the log as written, whole bytes. Returns false to stop (the reader went away). */
  write: (chunk: Buffer) => boolean | Promise<boolean>;
}

/**
 * Reads one attempt's log from a byte offset, and with `follow` keeps reading as the runner appends to it until the
 * attempt has ended (its result is recorded after its log is closed, so nothing written is missed). Returns the step
 * as last read, and the offset reached, so a caller can go on from there or to the next attempt.
 */
export async function tailStepLog(tail: StepLogTail): Promise<{ step: StepDocument; attempt: number; offset: number }> {
  let offset = tail.offset ?? 0;
  // Fixed once known: a retry that starts while following writes another file.
  let attempt = tail.attempt ?? 0;
  for (;;) {
    const step = await tail.store.getStep(tail.stepId);
    if (!step || step.run_id !== tail.runId)
      throw new MaestroError('STEP_NOT_FOUND', `run ${tail.runId} has no step ${tail.stepId}`, {
        details: { path: '$.step_id' },
      });
    if (attempt === 0) attempt = step.attempt;
    const running = step.status === 'running' && step.attempt === attempt;
    if (attempt > 0) {
      const path = stepLogPath(tail.logsDir, tail.runId, step.key, attempt);
      for (const chunk of readFrom(tail.logsDir, path, offset)) {
        offset += chunk.length;
        if (!(await tail.write(chunk))) return { step, attempt, offset };
      }
    }
    const attemptEnded = attempt > 0 && !running && (step.attempt > attempt || step.status !== 'pending');
    if (!tail.follow || attemptEnded) return { step, attempt, offset };
    // Not started and never will: its run ended without it.
    if (!running && isTerminalRunStatus((await tail.store.getRun(tail.runId))?.status ?? 'cancelled'))
      return { step, attempt, offset };
    await new Promise((resolve) => setTimeout(resolve, tail.pollMs ?? 200));
  }
}

/** The bytes of a log file from an offset, when the file is under `logsDir`; nothing when missing or elsewhere. */
function* readFrom(logsDir: string, path: string, offset: number): Generator<Buffer> {
  let fd: number;
  try {
    const real = realpathSync(path);
    const rel = relative(realpathSync(logsDir), real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return;
    fd = openSync(real, 'r');
  } catch {
    return; // not written yet
  }
  try {
    for (let at = offset; ;) {
      const buffer = Buffer.alloc(64 * 1024);
      const read = readSync(fd, buffer, 0, buffer.length, at);
      if (read === 0) return;
      at += read;
      yield buffer.subarray(0, read);
    }
  } finally {
    closeSync(fd);
  }
}
