import type { StepDocument } from '../generated/schemas.js';
import { waitingNote } from '../domain/step-waiting.js';
import { elapsed } from './format.js';
import { runHref } from './route.js';
import { StatusBadge } from './status-badge.js';

/** What a step row says beside its status: why it was skipped, its child run, its error while it explains the state. */
function note(step: StepDocument) {
  if (step.skip_reason === 'reused') return 'reused from the earlier run';
  if (step.skip_reason) return step.skip_reason.replace(/_/g, ' ');
  if (step.error_info && step.status !== 'succeeded') {
    const prefix = ['failed', 'cancelled'].includes(step.status) ? '' : 'previous attempt: ';
    return `${prefix}${step.error_info.code}: ${step.error_info.message}`;
  }
  return '';
}

/**
 * Every step with its kind, status, attempts, timing and exit or error; selecting a row shows its log. A manual step
 * that waits gets Approve / Reject when the token may change runs.
 */
export function StepTable({
  steps,
  now,
  selected,
  onSelect,
  canAct,
  onComplete,
}: {
  steps: StepDocument[];
  now: number;
  selected: string | undefined;
  onSelect: (step: StepDocument) => void;
  canAct: boolean;
  onComplete: (step: StepDocument, status: 'succeeded' | 'failed') => void;
}) {
  return (
    <div class="table-scroll">
      <table aria-label="Steps">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Attempt</th>
            <th scope="col">Duration</th>
            <th scope="col">Exit / error</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {steps.map((step) => {
            const exitCode = (step.error_info?.details as { exit_code?: number } | undefined)?.exit_code;
            const waitingManual = step.uses === 'manual' && step.status === 'running';
            const waitingRunner = waitingNote(step);
            return (
              <tr key={step.step_id} class={selected === step.key ? 'selected' : ''} data-step={step.key}>
                <td>
                  <button
                    type="button"
                    class="link"
                    aria-pressed={selected === step.key}
                    onClick={() => onSelect(step)}
                  >
                    {step.key}
                  </button>
                </td>
                <td>{step.uses ?? 'group'}</td>
                <td>
                  <StatusBadge status={step.status} />
                  {waitingManual && <span class="waiting"> waiting for approval</span>}
                  {waitingRunner && <span class="waiting"> {waitingRunner}</span>}
                </td>
                <td>
                  {step.attempt}/{step.max_attempts}
                </td>
                <td>{elapsed(step.started_at, step.ended_at, now)}</td>
                <td class="note">
                  {exitCode !== undefined && step.status !== 'succeeded' ? `exit ${exitCode}; ` : ''}
                  {note(step)}
                  {step.child_run_id && (
                    <a href={runHref(step.child_run_id)} class="mono">
                      child run {step.child_run_id}
                    </a>
                  )}
                </td>
                <td>
                  {canAct && waitingManual && (
                    <span class="actions">
                      <button type="button" onClick={() => onComplete(step, 'succeeded')}>
                        Approve {step.key}
                      </button>
                      <button type="button" class="danger" onClick={() => onComplete(step, 'failed')}>
                        Reject {step.key}
                      </button>
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
