import { join } from 'node:path';
import type { StepDocument } from '../generated/schemas.js';
import { tailStepLog } from '../engine/logs/step-log-tail.js';
import type { RunStore } from '../store/port.js';
import { stripControlSequences } from './render/terminal-text.js';

/**
 * The log of a step's current attempt, safe for a terminal: from the store's log chunks, wherever the step ran, or
 * for a log stored before logs went to the store, the file this workspace's runner wrote. Undefined when neither
 * has a byte of it.
 */
export async function readStoredStepLog(
  store: RunStore,
  step: StepDocument,
  workspace = process.cwd(),
): Promise<string | undefined> {
  const pieces: Buffer[] = [];
  await tailStepLog({
    store,
    logsDir: join(workspace, '.maestro', 'logs'),
    runId: step.run_id,
    stepId: step.step_id,
    attempt: Math.max(1, step.attempt),
    follow: false,
    write: (piece) => pieces.push(piece) > 0,
  });
  return pieces.length === 0 ? undefined : stripControlSequences(Buffer.concat(pieces).toString('utf8'));
}
