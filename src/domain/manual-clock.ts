import type { Clock } from './clock.js';

interface PendingTimer {
  at: number;
  order: number;
  fire: () => void;
}

/**
 * A clock that moves only when told: `advance(ms)` fires, in time order, every timer due by then. For tests of
 * anything time drives (retry backoff, lease takeover, budgets) without real waiting, as Temporal's time-skipping
 * test server does for workflows.
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers = new Set<PendingTimer>();
  private created = 0;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  setTimer(fire: () => void, ms: number): () => void {
    const timer = { at: this.current + Math.max(0, ms), order: this.created++, fire };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Moves time on by `ms`, firing each timer that comes due, earliest first, at its own time. */
  advance(ms: number): void {
    const until = this.current + ms;
    for (;;) {
      const next = [...this.timers]
        .filter((timer) => timer.at <= until)
        .sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!next) break;
      this.timers.delete(next);
      this.current = Math.max(this.current, next.at);
      next.fire();
    }
    this.current = until;
  }

  /** How many timers wait to fire. */
  get pendingTimers(): number {
    return this.timers.size;
  }
}
