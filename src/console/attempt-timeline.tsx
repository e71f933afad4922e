import type { EventDocument, StepDocument } from '../generated/schemas.js';
import { formatDuration } from './format.js';

interface Bar {
  key: string;
  attempt: number;
  start: number;
  end: number | undefined;
  outcome: string;
}

/** Each attempt's interval, from the run's events: started, then succeeded, failed, retrying or cancelled. */
function attemptBars(events: EventDocument[]): Bar[] {
  const open = new Map<string, Bar>();
  const bars: Bar[] = [];
  for (const event of events) {
    const data = event.data as { key?: string; attempt?: number };
    if (!data.key) continue;
    if (event.type === 'step.started' && (data.attempt ?? 0) > 0) {
      const bar = {
        key: data.key,
        attempt: data.attempt ?? 1,
        start: Date.parse(event.at),
        end: undefined,
        outcome: 'running',
      };
      open.set(data.key, bar);
      bars.push(bar);
    } else if (['step.succeeded', 'step.failed', 'step.retrying', 'step.cancelled'].includes(event.type)) {
      const bar = open.get(data.key);
      if (!bar) continue;
      bar.end = Date.parse(event.at);
      bar.outcome = event.type === 'step.retrying' ? 'failed' : event.type.slice('step.'.length);
      open.delete(data.key);
    }
  }
  return bars;
}

/** A Gantt chart of attempts: one row per leaf step, a bar per attempt, on the run's time axis. */
export function AttemptTimeline({
  steps,
  events,
  now,
}: {
  steps: StepDocument[];
  events: EventDocument[];
  now: number;
}) {
  const bars = attemptBars(events);
  if (bars.length === 0) return <p>No attempts yet.</p>;
  const start = Math.min(...bars.map((bar) => bar.start));
  const end = Math.max(...bars.map((bar) => bar.end ?? now), start + 1);
  const keys = steps
    .filter((step) => step.uses !== undefined && bars.some((bar) => bar.key === step.key))
    .map((s) => s.key);
  const percent = (at: number) => `${((at - start) / (end - start)) * 100}%`;
  return (
    <div class="timeline" role="table" aria-label="Attempts over time">
      {keys.map((key) => (
        <div class="timeline-row" role="row" key={key}>
          <span class="timeline-key" role="rowheader">
            {key}
          </span>
          <span class="timeline-track" role="cell">
            {bars
              .filter((bar) => bar.key === key)
              .map((bar) => (
                <span
                  class={`timeline-bar status-${bar.outcome}`}
                  style={{
                    left: percent(bar.start),
                    width: `max(2px, calc(${percent(bar.end ?? now)} - ${percent(bar.start)}))`,
                  }}
                  title={`${key} attempt ${bar.attempt}: ${bar.outcome}, ${formatDuration((bar.end ?? now) - bar.start)}`}
                  aria-label={`attempt ${bar.attempt} ${bar.outcome} ${formatDuration((bar.end ?? now) - bar.start)}`}
                />
              ))}
          </span>
        </div>
      ))}
      <p class="timeline-axis">0 — {formatDuration(end - start)}</p>
    </div>
  );
}
