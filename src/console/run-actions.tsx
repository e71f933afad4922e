import { useEffect, useRef, useState } from 'preact/hooks';
import type { RunDocument, StepDocument } from '../generated/schemas.js';

const ENDED = ['succeeded', 'failed', 'cancelled'];

/**
 * Whether a live runner holds the run now: its lease has not expired. Resuming such a run only waits for that
 * runner, so it is not offered; a run never claimed, or whose runner died, is what resume is for.
 */
function isHeldByRunner(run: RunDocument, now: number): boolean {
  return run.lease !== undefined && Date.parse(run.lease.expires_at) > now;
}

/** Cancel (once confirmed), resume and rerun-from-a-step; shown only to a token that may change runs. */
export function RunActions({
  run,
  steps,
  now,
  onCancel,
  onResume,
  onRerun,
}: {
  run: RunDocument;
  steps: StepDocument[];
  now: number;
  onCancel: () => void;
  onResume: () => void;
  onRerun: (fromStep: string) => void;
}) {
  const topLevel = steps.filter((step) => !step.parent_step_id);
  const [fromStep, setFromStep] = useState(topLevel[0]?.key ?? '');
  const [confirming, setConfirming] = useState(false);
  const ended = ENDED.includes(run.status);
  return (
    <div class="actions" role="group" aria-label="Run actions">
      {!ended && !confirming && (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Cancel run
        </button>
      )}
      {!ended && confirming && (
        <ConfirmCancel
          onConfirm={() => {
            setConfirming(false);
            onCancel();
          }}
          onKeep={() => setConfirming(false)}
        />
      )}
      {!ended && !confirming && !isHeldByRunner(run, now) && (
        <button type="button" onClick={onResume}>
          Resume run
        </button>
      )}
      {ended && topLevel.length > 0 && (
        <span class="rerun">
          <label>
            Rerun from
            <select value={fromStep} onChange={(event) => setFromStep((event.target as HTMLSelectElement).value)}>
              {topLevel.map((step) => (
                <option value={step.key}>{step.key}</option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => onRerun(fromStep)}>
            Rerun
          </button>
        </span>
      )}
    </div>
  );
}

/** Cancelling cannot be undone: it is asked for twice, and the safe answer has the focus. */
function ConfirmCancel({ onConfirm, onKeep }: { onConfirm: () => void; onKeep: () => void }) {
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => keep.current?.focus(), []);
  return (
    <div
      class="confirm"
      role="alertdialog"
      aria-labelledby="confirm-cancel-title"
      aria-describedby="confirm-cancel-text"
      onKeyDown={(event) => event.key === 'Escape' && onKeep()}
    >
      <strong id="confirm-cancel-title">Cancel this run?</strong>
      <span id="confirm-cancel-text">Its running steps are stopped and it ends cancelled; this cannot be undone.</span>
      <span class="confirm-buttons">
        <button type="button" class="danger" onClick={onConfirm}>
          Yes, cancel the run
        </button>
        <button type="button" ref={keep} onClick={onKeep}>
          Keep the run
        </button>
      </span>
    </div>
  );
}
