import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { StepDocument } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import { tailStepLog } from '../engine/logs/step-log-tail.js';
import type { RunStore } from '../store/port.js';
import { stripControlSequences } from './render/terminal-text.js';

/**
 * `runs logs <run> --step <key> -f`: prints the step's log as its attempt writes it, from the store's log chunks
 * (whichever runner, on whichever machine, runs it; a log stored before chunks existed is read from this workspace's
 * `.maestro/logs`), through its retries, and returns once the step's last attempt has ended and its log is printed
 * whole. A step not started yet is waited for; one that has
 * ended already is printed and done.
 */
export async function followStepLog(
  store: RunStore,
  runId: string,
  stepKey: string,
  out: NodeJS.WritableStream,
  options: { workspace?: string; pollMs?: number } = {},
): Promise<StepDocument> {
  const step = (await store.listSteps(runId)).find((s) => s.key === stepKey);
  if (!step)
    throw new MaestroError('STEP_NOT_FOUND', `run ${runId} has no step ${stepKey}`, { details: { path: '--step' } });
  const logsDir = join(options.workspace ?? process.cwd(), '.maestro', 'logs');
  let attempt = Math.max(1, step.attempt);
  for (;;) {
    // A character split across two reads waits in the decoder for its end.
    const decoder = new StringDecoder('utf8');
    let announced = false;
    const ended = await tailStepLog({
      store,
      logsDir,
      runId,
      stepId: step.step_id,
      attempt,
      follow: true,
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
      write: (chunk) => {
        if (!announced) out.write(`==> ${stepKey} (attempt ${attempt})\n`);
        announced = true;
        out.write(stripControlSequences(decoder.write(chunk)));
        return true;
      },
    });
    out.write(stripControlSequences(decoder.end()));
    // A retry is followed into its attempt; otherwise the step has ended (or its run did without it).
    if (ended.step.attempt <= attempt) return ended.step;
    attempt += 1;
  }
}
