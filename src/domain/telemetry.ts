/**
 * What a runner reports for metrics. The engine, the hook outbox and the store wrapper call it; the composition
 * roots choose the implementation (Prometheus for `maestro serve` and `maestro worker`, nothing elsewhere).
 * Every label value is bounded by construction: plan names, step kinds, statuses, hook names, store operations —
 * never a run or step id.
 */
export interface Telemetry {
  /** A runner started driving a run; `takeover` when it was already running under another (or a dead) runner. */
  runStarted(plan: string, takeover: boolean): void;
  runEnded(plan: string, status: string, seconds: number): void;
  /** A step attempt was claimed: how long the step waited since it was created or became ready (a retry). */
  attemptStarted(kind: string, queueWaitSeconds: number, takeover: boolean): void;
  attemptEnded(kind: string, outcome: AttemptOutcomeLabel, seconds: number): void;
  budgetExceeded(budget: string, mode: string): void;
  hookDelivered(hook: string, ok: boolean): void;
  /** The runs this process drives now went up or down by one. */
  runsHeld(delta: 1 | -1): void;
  storeCall(operation: string, seconds: number): void;
  /** A store operation waited out an outage (STORE_UNAVAILABLE) and is tried again. */
  storeRetry(operation: string): void;
}

export type AttemptOutcomeLabel = 'succeeded' | 'failed' | 'retried' | 'cancelled' | 'waiting' | 'lease_lost';

const ignore = (): void => undefined;

/** The default: nothing is counted. */
export const noTelemetry: Telemetry = {
  runStarted: ignore,
  runEnded: ignore,
  attemptStarted: ignore,
  attemptEnded: ignore,
  budgetExceeded: ignore,
  hookDelivered: ignore,
  runsHeld: ignore,
  storeCall: ignore,
  storeRetry: ignore,
};
