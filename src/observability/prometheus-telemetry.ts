import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AttemptOutcomeLabel, Telemetry } from '../domain/telemetry.js';

// Seconds: from a no-op step (a millisecond) to a long job (an hour).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Runner metrics on prom-client: one registry per process, the library's default process and Node metrics beside
 * Maestro's own. The README's "Observability" table lists each of them; a test holds the two together.
 */
export class PrometheusTelemetry implements Telemetry {
  readonly registry = new Registry();
  private readonly runsStarted: Counter<'plan' | 'takeover'>;
  private readonly runsFinished: Counter<'plan' | 'status'>;
  private readonly runDuration: Histogram<'plan' | 'status'>;
  private readonly attempts: Counter<'kind' | 'outcome'>;
  private readonly attemptDuration: Histogram<'kind' | 'outcome'>;
  private readonly queueWait: Histogram<'kind'>;
  private readonly retries: Counter<'kind'>;
  private readonly takeovers: Counter<'lease'>;
  private readonly budgetBreaches: Counter<'budget' | 'mode'>;
  private readonly hookDeliveries: Counter<'hook' | 'outcome'>;
  private readonly held: Gauge;
  private readonly storeDuration: Histogram<'operation'>;
  private readonly storeRetries: Counter<'operation'>;
  private readonly children = new Map<object, Map<string, unknown>>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.runsStarted = new Counter({
      name: 'maestro_runs_started_total',
      help: 'Runs a runner started driving (takeover="true": it was running under a runner that is gone)',
      labelNames: ['plan', 'takeover'],
      registers,
    });
    this.runsFinished = new Counter({
      name: 'maestro_runs_finished_total',
      help: 'Runs ended, by plan and final status',
      labelNames: ['plan', 'status'],
      registers,
    });
    this.runDuration = new Histogram({
      name: 'maestro_run_duration_seconds',
      help: 'Wall time of ended runs, from start to end',
      labelNames: ['plan', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.attempts = new Counter({
      name: 'maestro_step_attempts_total',
      help: 'Step attempts ended, by step kind and outcome (succeeded, failed, retried, cancelled, waiting, lease_lost)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'maestro_step_attempt_duration_seconds',
      help: 'Wall time of step attempts, from claim to recorded outcome',
      labelNames: ['kind', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.queueWait = new Histogram({
      name: 'maestro_step_queue_wait_seconds',
      help: 'Time from a step being created (or ready again after a retry backoff) to a runner claiming it',
      labelNames: ['kind'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.retries = new Counter({
      name: 'maestro_step_retries_total',
      help: 'Failed attempts that were scheduled to run again',
      labelNames: ['kind'],
      registers,
    });
    this.takeovers = new Counter({
      name: 'maestro_lease_takeovers_total',
      help: "A runner took over a run or step whose runner's lease had expired",
      labelNames: ['lease'],
      registers,
    });
    this.budgetBreaches = new Counter({
      name: 'maestro_budget_breaches_total',
      help: 'Runs that crossed a budget (mode enforce stopped them; audit only recorded it)',
      labelNames: ['budget', 'mode'],
      registers,
    });
    this.hookDeliveries = new Counter({
      name: 'maestro_hook_deliveries_total',
      help: 'Events delivered to provenance hooks, by hook and outcome (ok, or failed after its retries)',
      labelNames: ['hook', 'outcome'],
      registers,
    });
    this.held = new Gauge({
      name: 'maestro_runs_held',
      help: 'Runs this process drives now (holds the lease of)',
      registers,
    });
    this.storeDuration = new Histogram({
      name: 'maestro_store_operation_duration_seconds',
      help: 'Latency of store port operations, by operation',
      labelNames: ['operation'],
      buckets: STORE_BUCKETS,
      registers,
    });
    this.storeRetries = new Counter({
      name: 'maestro_store_unavailable_retries_total',
      help: 'Store operations retried while the store was unavailable',
      labelNames: ['operation'],
      registers,
    });
  }

  runStarted(plan: string, takeover: boolean): void {
    this.runsStarted.inc({ plan, takeover: String(takeover) });
    if (takeover) this.takeovers.inc({ lease: 'run' });
  }

  runEnded(plan: string, status: string, seconds: number): void {
    this.runsFinished.inc({ plan, status });
    this.runDuration.observe({ plan, status }, seconds);
  }

  attemptStarted(kind: string, queueWaitSeconds: number, takeover: boolean): void {
    this.child(this.queueWait, kind, () => this.queueWait.labels(kind)).observe(Math.max(0, queueWaitSeconds));
    if (takeover) this.takeovers.inc({ lease: 'step' });
  }

  attemptEnded(kind: string, outcome: AttemptOutcomeLabel, seconds: number): void {
    const key = `${kind}\u0000${outcome}`;
    this.child(this.attempts, key, () => this.attempts.labels(kind, outcome)).inc();
    this.child(this.attemptDuration, key, () => this.attemptDuration.labels(kind, outcome)).observe(
      Math.max(0, seconds),
    );
    if (outcome === 'retried') this.retries.inc({ kind });
  }

  budgetExceeded(budget: string, mode: string): void {
    this.budgetBreaches.inc({ budget, mode });
  }

  hookDelivered(hook: string, ok: boolean): void {
    this.hookDeliveries.inc({ hook, outcome: ok ? 'ok' : 'failed' });
  }

  runsHeld(delta: 1 | -1): void {
    this.held.inc(delta);
  }

  storeCall(operation: string, seconds: number): void {
    this.child(this.storeDuration, operation, () => this.storeDuration.labels(operation)).observe(seconds);
  }

  /**
   * The labelled child of a metric, made once per label values: on the hot path (every store call, every
   * attempt) prom-client then skips hashing the label object on each observation.
   */
  private child<T>(metric: object, key: string, make: () => T): T {
    let byKey = this.children.get(metric) as Map<string, T> | undefined;
    if (!byKey) this.children.set(metric, (byKey = new Map<string, T>()));
    let found = byKey.get(key);
    if (found === undefined) byKey.set(key, (found = make()));
    return found;
  }

  storeRetry(operation: string): void {
    this.storeRetries.inc({ operation });
  }

  /** The exposition text, and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
