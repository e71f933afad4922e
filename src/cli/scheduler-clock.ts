import { readFileSync } from 'node:fs';

/**
 * The time schedules are fired by: the system's, or — for tests that drive several worker processes through
 * simulated minutes — the ISO time written in the file MAESTRO_SCHEDULER_CLOCK_FILE names (read at each look).
 */
export function schedulerClock(file = process.env.MAESTRO_SCHEDULER_CLOCK_FILE): () => Date {
  if (!file) return () => new Date();
  return () => new Date(readFileSync(file, 'utf8').trim());
}
