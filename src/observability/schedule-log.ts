import type { Logger } from 'pino';
import { toMaestroError } from '../domain/errors.js';
import type { ScheduleReport } from '../engine/schedules/scheduler.js';

/**
 * How workers and servers log firing schedules: a tick its `skip` concurrency group passed over is the policy at
 * work (info); a tick that could not start, or a store that could not be read, is an error (the loop goes on).
 */
export function scheduleLog(logger: Pick<Logger, 'info' | 'error'>): ScheduleReport {
  return {
    skipped: (scheduleId, tick) =>
      logger.info(
        { schedule_id: scheduleId, scheduled_for: tick },
        'schedule tick skipped: its concurrency group is busy',
      ),
    failed: (error) => logger.error({ err: toMaestroError(error) }, 'firing schedules failed'),
  };
}
