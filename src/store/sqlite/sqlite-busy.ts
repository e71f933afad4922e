import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';

function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && /^SQLITE_(BUSY|LOCKED)/.test(error.code);
}

/**
 * Runs one statement or transaction, waiting while another connection holds the write lock. The connection's own
 * busy timeout is 0: SQLite's would sleep inside the call and block this process's event loop (lease renewals,
 * HTTP answers) for as long as it waits, and it polls ever more slowly (up to 100 ms), so a busy peer starves it.
 * Here the wait is asynchronous, in short jittered steps, up to the store's busy timeout; a failed BEGIN IMMEDIATE
 * or statement changed nothing, so trying again is safe.
 */
export async function waitingOutLocks<T>(operation: () => T, busyTimeoutMs: number): Promise<T> {
  const deadline = Date.now() + busyTimeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return operation();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      await sleep(1 + Math.random() * Math.min(2 + attempt, 10));
    }
  }
}
