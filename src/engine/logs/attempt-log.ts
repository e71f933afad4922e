import type { StepDocument } from '../../generated/schemas.js';
import type { EngineServices } from '../engine-services.js';
import { LogShipper } from './log-shipper.js';
import type { SecretMasker } from '../secrets/secret-masker.js';
import { StepLog, stepLogPath } from './step-log.js';

/**
 * The log of the attempt a runner is starting: its file under the runner's logs directory, and the same bytes
 * shipped to the store's log chunks as they are written, so the API, the CLI and the console on any machine show
 * it live (a takeover goes on after the chunks the earlier runner stored). Passing the runner's log limit stops the
 * attempt (LOG_TOO_LARGE).
 */
export function openAttemptLog(
  services: EngineServices,
  step: StepDocument,
  masker: SecretMasker,
  controller: AbortController,
  takeover: boolean,
): StepLog {
  const address = { run_id: step.run_id, key: step.key, attempt: step.attempt };
  const log: StepLog = new StepLog(stepLogPath(services.logsDir, step.run_id, step.key, step.attempt), {
    masker,
    shipper: new LogShipper({
      blobs: services.store.blobs,
      address,
      freshAttempt: !takeover,
      now: () => services.clock.now(),
      warn: (message) => log.noteInFile(message),
    }),
    maxBytes: services.maxLogBytes,
    onLimit: (error) => controller.abort(error),
  });
  return log;
}
