import { MaestroError } from './errors.js';

export const RunStatus = {
  pending: 'pending',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

export const StepStatus = {
  pending: 'pending',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

const terminalRunStatuses: ReadonlySet<string> = new Set([RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled]);
const terminalStepStatuses: ReadonlySet<string> = new Set([
  StepStatus.succeeded,
  StepStatus.failed,
  StepStatus.skipped,
  StepStatus.cancelled,
]);

export function isTerminalRunStatus(status: string): boolean {
  return terminalRunStatuses.has(status);
}

export function isTerminalStepStatus(status: string): boolean {
  return terminalStepStatuses.has(status);
}

/** Legal step transitions. A finished step never changes again: its outcome is recorded exactly once. */
const stepTransitions: Record<StepStatus, readonly StepStatus[]> = {
  pending: ['running', 'succeeded', 'failed', 'skipped', 'cancelled'],
  running: ['pending', 'running', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  skipped: [],
  cancelled: [],
};

export function assertStepTransition(stepKey: string, from: StepStatus, to: StepStatus): void {
  if (!stepTransitions[from].includes(to)) {
    throw new MaestroError('STEP_ILLEGAL_TRANSITION', `step ${stepKey} cannot go from ${from} to ${to}`, {
      details: {
        path: '$.status',
        expected: `one of ${stepTransitions[from].join(', ') || '(none: finished)'}`,
        got: to,
        from,
      },
    });
  }
}
