import type { RunDocument } from '../../generated/schemas.js';
import type { RunDriver } from './run-driver.js';

/**
 * The runs this engine drives now, each with its driver: a cancel request pokes the driver, and a runner that
 * stops (a server on SIGTERM) waits for them to end or hands them back.
 */
export class DrivenRuns {
  private readonly byRun = new Map<string, { driver: RunDriver; driving: Promise<RunDocument> }>();

  get(runId: string): RunDriver | undefined {
    return this.byRun.get(runId)?.driver;
  }

  /** Drives a run to its end (or until it is handed back), known here meanwhile. */
  async drive(runId: string, driver: RunDriver): Promise<RunDocument> {
    const driving = driver.drive();
    this.byRun.set(runId, { driver, driving });
    try {
      return await driving;
    } finally {
      if (this.byRun.get(runId)?.driver === driver) this.byRun.delete(runId);
    }
  }

  /** Resolves once no run is driven here, or after `boundMs`; true when none is left. */
  async settled(boundMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, boundMs)));
    try {
      // Child runs started meanwhile are driven here too: wait for those as well.
      while (this.byRun.size > 0) {
        const all = Promise.allSettled([...this.byRun.values()].map((entry) => entry.driving));
        if ((await Promise.race([all.then(() => 'ended'), bound.then(() => 'bound')])) === 'bound') return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops driving every run without ending it: each stays as stored, its lease let go, for another runner. */
  async handBack(): Promise<void> {
    const entries = [...this.byRun.values()];
    for (const { driver } of entries) driver.handBack();
    await Promise.allSettled(entries.map((entry) => entry.driving));
  }
}
