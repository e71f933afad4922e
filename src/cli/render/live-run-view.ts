import { waitingNote } from '../../domain/step-waiting.js';
import { readStoredStepLog } from '../stored-step-log.js';
import { stripControlSequences } from './terminal-text.js';
import type { RunDocument, StepDocument } from '../../generated/schemas.js';
import type { RunStore } from '../../store/port.js';

const ICON: Record<string, string> = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  skipped: '↷',
  cancelled: '■',
};
const COLOR: Record<string, string> = {
  running: '36',
  succeeded: '32',
  failed: '31',
  skipped: '90',
  cancelled: '33',
  pending: '90',
};
const LOG_TAIL_LINES = 12;
const BAR_WIDTH = 30;
// Redrawn this often with no event too, so the clocks of running steps move.
const TICK_MS = 500;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function elapsed(from: string | undefined, to: string | undefined, now: number): string {
  if (!from) return '';
  const ms = Math.max(0, (to ? Date.parse(to) : now) - Date.parse(from));
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** The last lines of a step's log (from the store, wherever it ran), for the failure report. */
export async function logTail(store: RunStore, step: StepDocument, lines = LOG_TAIL_LINES): Promise<string[]> {
  const text = await readStoredStepLog(store, step).catch(() => undefined);
  return text === undefined ? [] : text.trimEnd().split('\n').slice(-lines);
}

/**
 * The TTY view of `maestro-run`: the step tree with status, attempt and elapsed time, a progress bar of finished
 * steps with the run's clock, and at the end the log tail of a failed step. It redraws in place, at most ten times a
 * second on events and twice a second without, so the clocks of running steps move.
 */
export class LiveRunView {
  private drawnLines = 0;
  private frames = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  private drawing: Promise<void> = Promise.resolve();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly store: RunStore,
    private readonly runId: string,
    private readonly color: boolean,
  ) {
    this.ticker = setInterval(() => this.changed(), TICK_MS);
    this.ticker.unref();
  }

  /** Ask for a redraw soon (events arrive in bursts). */
  changed(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.drawing = this.drawing.then(() => this.draw()).catch(() => undefined);
    }, 100);
  }

  async finish(): Promise<void> {
    clearInterval(this.ticker);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.drawing;
    await this.draw(true);
  }

  private paint(code: string | undefined, text: string): string {
    return this.color && code ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  private async draw(final = false): Promise<void> {
    const detail = await this.store.getRunDetail(this.runId);
    if (!detail) return;
    const failed = final ? detail.steps.find((step) => step.status === 'failed' && step.uses !== undefined) : undefined;
    const lines = this.render(detail.run, detail.steps, final, failed ? await logTail(this.store, failed) : []);
    if (this.drawnLines > 0) this.out.write(`\u001b[${this.drawnLines}A\u001b[0J`);
    this.out.write(`${lines.join('\n')}\n`);
    this.drawnLines = final ? 0 : lines.length;
  }

  private render(run: RunDocument, steps: StepDocument[], final: boolean, tail: string[]): string[] {
    const now = Date.now();
    const byParent = new Map<string, StepDocument[]>();
    for (const step of steps)
      byParent.set(step.parent_step_id ?? '', [...(byParent.get(step.parent_step_id ?? '') ?? []), step]);
    const leaves = steps.filter((step) => step.uses !== undefined);
    const finished = leaves.filter((step) =>
      ['succeeded', 'failed', 'skipped', 'cancelled'].includes(step.status),
    ).length;
    const filled = leaves.length === 0 ? 0 : Math.round((finished / leaves.length) * BAR_WIDTH);
    const spinner = final ? '' : ` ${SPINNER[(this.frames += 1) % SPINNER.length]}`;
    const lines = [
      `${this.paint('1', run.plan_name)}  run ${run.run_id}  ${this.paint(COLOR[run.status], run.status)}`,
      `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${finished}/${leaves.length} steps  ${elapsed(run.started_at ?? run.created_at, run.ended_at, now)}${spinner}`,
    ];
    const walk = (parentId: string, depth: number): void => {
      for (const step of byParent.get(parentId) ?? []) {
        const attempt = step.attempt > 1 ? `  attempt ${step.attempt}/${step.max_attempts}` : '';
        const note = step.skip_reason ?? waitingNote(step);
        const reason = note ? `  (${note})` : '';
        lines.push(
          `${'  '.repeat(depth + 1)}${this.paint(COLOR[step.status], ICON[step.status] ?? '?')} ${step.key}  ${this.paint(COLOR[step.status], step.status)}${attempt}  ${elapsed(step.started_at, step.ended_at, now)}${reason}`,
        );
        walk(step.step_id, depth + 1);
      }
    };
    walk('', 0);
    if (final) {
      const failed = steps.find((step) => step.status === 'failed' && step.uses !== undefined);
      if (failed) {
        lines.push(
          '',
          this.paint('31', `step ${failed.key} failed: ${stripControlSequences(failed.error_info?.message ?? '')}`),
        );
        if (tail.length > 0) lines.push(`  last lines of ${failed.logs_ref}:`, ...tail.map((line) => `  | ${line}`));
      }
      if (run.error_info && !failed)
        lines.push('', this.paint('31', stripControlSequences(`${run.error_info.code}: ${run.error_info.message}`)));
    }
    return lines;
  }
}
