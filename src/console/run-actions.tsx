import { useState } from 'preact/hooks';
import type { RunDocument, StepDocument } from '../generated/schemas.js';

const ENDED = ['succeeded', 'failed', 'cancelled'];

/** Cancel, resume and rerun-from-a-step; shown only to a token that may change runs. */
export function RunActions({
  run,
  steps,
  onCancel,
  onResume,
  onRerun,
}: {
  run: RunDocument;
  steps: StepDocument[];
  onCancel: () => void;
  onResume: () => void;
  onRerun: (fromStep: string) => void;
}) {
  const topLevel = steps.filter((step) => !step.parent_step_id);
  const [fromStep, setFromStep] = useState(topLevel[0]?.key ?? '');
  const ended = ENDED.includes(run.status);
  return (
    <div class="actions" role="group" aria-label="Run actions">
      {!ended && (
        <button type="button" class="danger" onClick={onCancel}>
          Cancel run
        </button>
      )}
      {!ended && (
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
