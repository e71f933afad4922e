import type { StepDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { isTerminalRunStatus } from '../../domain/status.js';
import type { RunStore } from '../../store/port.js';
import { AttemptLogReader } from './attempt-log-reader.js';

export interface StepLogTail {
  store: RunStore;
  /**
   * This process's runner's logs directory, read only for a log the store has no chunks of (written before logs were
   * stored): the file read is the one the runner writes for the attempt (`stepLogPath` of the run, the step's key and
   * the attempt), never the step's `logs_ref`: a ref reported from outside is shown, not opened.
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
 * Reads one attempt's log from a byte offset, and with `follow` keeps reading as its runner (on this machine or
 * another) stores it, until the attempt has ended (its result is recorded after its log is closed and stored, so
 * nothing written is missed). Returns the step as last read, and the offset reached, so a caller can go on from
 * there or to the next attempt.
 */
export async function tailStepLog(tail: StepLogTail): Promise<{ step: StepDocument; attempt: number; offset: number }> {
  let offset = tail.offset ?? 0;
  // Fixed once known: a retry that starts while following writes another log.
  let attempt = tail.attempt ?? 0;
  let reader: AttemptLogReader | undefined;
  // Set when the caller wants no more (it went away).
  const caller = { stopped: false };
  const write = async (chunk: Buffer) => {
    caller.stopped = !(await tail.write(chunk));
    return !caller.stopped;
  };
  for (;;) {
    const step = await tail.store.getStep(tail.stepId);
    if (!step || step.run_id !== tail.runId)
      throw new MaestroError('STEP_NOT_FOUND', `run ${tail.runId} has no step ${tail.stepId}`, {
        details: { path: '$.step_id' },
      });
    if (attempt === 0) attempt = step.attempt;
    const running = step.status === 'running' && step.attempt === attempt;
    const attemptEnded = attempt > 0 && !running && (step.attempt > attempt || step.status !== 'pending');
    if (attempt > 0) {
      reader ??= new AttemptLogReader(tail.store, tail.logsDir, { run_id: tail.runId, key: step.key, attempt });
      offset = await reader.readFrom(offset, !running, write);
      if (caller.stopped) return { step, attempt, offset };
    }
    if (!tail.follow || attemptEnded) return { step, attempt, offset };
    // Not started and never will: its run ended without it.
    if (!running && isTerminalRunStatus((await tail.store.getRun(tail.runId))?.status ?? 'cancelled'))
      return { step, attempt, offset };
    await new Promise((resolve) => setTimeout(resolve, tail.pollMs ?? 200));
  }
}
