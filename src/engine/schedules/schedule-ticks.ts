import { Cron } from 'croner';
import type { ScheduleDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';

/** Past this many due ticks a schedule is not walked tick by tick: the rest are missed ones, counted, not listed. */
const MAX_TICKS_WALKED = 10_000;
/** A tick fired at most this late is on time; later, it was missed (no worker ran then). */
const ON_TIME_MS = 30_000;

/** A cron read in a time zone; INPUT_INVALID naming the field that is wrong. */
export function cronOf(expression: string, timezone: string): Cron {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new MaestroError('INPUT_INVALID', `unknown time zone "${timezone}"`, {
      details: { path: '$.timezone', expected: 'an IANA time zone such as Europe/Berlin' },
    });
  }
  try {
    return new Cron(expression, { timezone, paused: true });
  } catch (error) {
    throw new MaestroError('INPUT_INVALID', `cron "${expression}": ${(error as Error).message}`, {
      details: { path: '$.cron', expected: 'five fields (minute hour day month weekday), or six with seconds' },
    });
  }
}

/** The first tick strictly after `after`. */
export function nextTick(cron: Cron, after: Date): Date {
  const next = cron.nextRun(after);
  if (!next)
    throw new MaestroError(
      'INPUT_INVALID',
      `cron "${cron.getPattern() ?? ''}" has no tick after ${after.toISOString()}`,
      {
        details: { path: '$.cron' },
      },
    );
  return next;
}

export interface DueTicks {
  /** The ticks to create runs for now, oldest first. */
  fire: string[];
  /** Due ticks passed over by the catch-up policy. */
  skipped: number;
  /** The first tick after now: where the schedule goes on. */
  next_tick_at: string;
}

/**
 * What a schedule owes at `now`: every tick from its next_tick_at up to now. A tick at most 30 s old (or half the
 * interval, when shorter) is on time and always fired; older ones were missed while no worker ran, and the
 * catch-up policy picks among them: `skip` none, `one` the newest, `all` the newest `catchup_limit`.
 */
export function dueTicks(schedule: ScheduleDocument, now: Date): DueTicks {
  const cron = cronOf(schedule.cron, schedule.timezone);
  const due: Date[] = [];
  let tick = new Date(schedule.next_tick_at);
  let walked = 0;
  while (tick.getTime() <= now.getTime() && walked < MAX_TICKS_WALKED) {
    due.push(tick);
    tick = nextTick(cron, tick);
    walked += 1;
  }
  // Far behind: jump to the present; what lay between was missed.
  if (tick.getTime() <= now.getTime()) tick = nextTick(cron, now);
  const last = due.at(-1);
  const interval = last ? nextTick(cron, last).getTime() - last.getTime() : ON_TIME_MS * 2;
  const onTime = last && now.getTime() - last.getTime() <= Math.min(ON_TIME_MS, interval / 2) ? [last] : [];
  const missed = onTime.length > 0 ? due.slice(0, -1) : due;
  const caughtUp =
    schedule.catchup === 'all'
      ? missed.slice(-schedule.catchup_limit)
      : schedule.catchup === 'one'
        ? missed.slice(-1)
        : [];
  const fire = [...caughtUp, ...onTime].map((date) => date.toISOString());
  return { fire, skipped: due.length - fire.length, next_tick_at: tick.toISOString() };
}

/** Ticks looked at to find how close a cron's ticks come: past every wrap of a pattern with seconds. */
const INTERVAL_SAMPLE = 200;

/** INPUT_INVALID naming `$.cron` when two ticks of the cron, from `from` on, come closer than `minMs`. */
export function assertMinInterval(cron: Cron, minMs: number, from: Date): void {
  const ticks = cron.nextRuns(INTERVAL_SAMPLE, from);
  for (let i = 1; i < ticks.length; i += 1) {
    const gap = ticks[i]!.getTime() - ticks[i - 1]!.getTime();
    if (gap < minMs)
      throw new MaestroError(
        'INPUT_INVALID',
        `cron "${cron.getPattern() ?? ''}" fires ${gap / 1000} s apart at ${ticks[i - 1]!.toISOString()}; schedules here may fire at most once every ${minMs / 1000} s`,
        { details: { path: '$.cron', expected: `ticks at least ${minMs / 1000} s apart` } },
      );
  }
}
