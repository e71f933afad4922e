import type { Plan, RunConcurrency, RunDocument } from '../../generated/schemas.js';
import { isMaestroError, MaestroError } from '../../domain/errors.js';
import { evaluateTemplate } from '../../plan/expressions.js';
import { runConcurrencyOf } from '../../plan/run-concurrency.js';
import type { RunStore } from '../../store/port.js';

export interface ResolvedConcurrency {
  /** The owner of the run: a group is its owner's, so another owner's group of the same name is never touched. */
  owner: string;
  group: string;
  limit: number;
  on_conflict: NonNullable<RunConcurrency['on_conflict']>;
}

/**
 * Concurrency groups across runs, with no lock and no transaction: a pending run may go on when fewer than `limit`
 * runs of its group that are still unfinished were created before it (by created_at, then run_id) or have started.
 * Among runs stored in creation order that only ever becomes true — an unfinished run can finish, never the reverse
 * — so runners that decide at different moments never let more than `limit` go on, and the queue drains in creation
 * order. Runs of one group created at the same moment by several processes are the exception this design leaves:
 * two that pass their checks before either is marked running may overlap.
 */
export class ConcurrencyGate {
  constructor(
    private readonly store: RunStore,
    private readonly cancelRun: (runId: string) => Promise<unknown>,
  ) {}

  /**
   * The group a new run of `owner` counts in: the start's own, else the plan's; its expressions read the run's
   * inputs.
   */
  resolve(
    plan: Plan,
    inputs: Record<string, unknown>,
    given: RunConcurrency | undefined,
    owner: string,
  ): ResolvedConcurrency | undefined {
    const spec = given ?? runConcurrencyOf(plan);
    if (!spec) return undefined;
    const group = evaluateTemplate(spec.group, { inputs });
    if (typeof group !== 'string' || group === '')
      throw new MaestroError('INPUT_INVALID', `concurrency group "${spec.group}" evaluated to no text`, {
        details: { path: '$.concurrency.group' },
      });
    return { owner, group, limit: spec.limit ?? 1, on_conflict: spec.on_conflict ?? 'queue' };
  }

  /** Before a run is created: `skip` starts nothing while the group is full. */
  async admit(concurrency: ResolvedConcurrency): Promise<void> {
    if (concurrency.on_conflict !== 'skip') return;
    const unfinished = await this.store.listUnfinishedRunsInGroup(concurrency);
    if (unfinished.length >= concurrency.limit)
      throw new MaestroError(
        'CONCURRENCY_LIMIT',
        `concurrency group ${concurrency.group} has ${unfinished.length} runs going on (limit ${concurrency.limit}); none started`,
        { details: { group: concurrency.group, limit: concurrency.limit } },
      );
  }

  /** After a run is created: `cancel_in_progress` cancels the group's older runs (and their child runs). */
  async afterCreate(run: RunDocument, concurrency: ResolvedConcurrency): Promise<void> {
    if (concurrency.on_conflict !== 'cancel_in_progress') return;
    for (const older of await this.store.listUnfinishedRunsInGroup({ owner: run.owner, group: concurrency.group })) {
      if (!isBefore(older, run)) continue;
      await this.cancelRun(older.run_id).catch((error: unknown) => {
        // It ended meanwhile: nothing to cancel.
        if (!isMaestroError(error, 'RUN_ILLEGAL_TRANSITION')) throw error;
      });
    }
  }

  /**
   * Whether the run may go on now. Runs outside a group, runs asked to stop, and runs that have started (they hold
   * their place: a resumed one goes on) always may. A run created before another but stored after that one started
   * (its insert waited for the store's write lock in another process) queues behind it too.
   */
  async mayGoOn(run: RunDocument): Promise<boolean> {
    if (!run.concurrency || run.cancel_requested_at || run.status !== 'pending') return true;
    const unfinished = await this.store.listUnfinishedRunsInGroup({ owner: run.owner, group: run.concurrency.group });
    const ahead = unfinished.filter(
      (other) => other.run_id !== run.run_id && (isBefore(other, run) || other.status !== 'pending'),
    );
    return ahead.length < run.concurrency.limit;
  }
}

function isBefore(a: RunDocument, b: RunDocument): boolean {
  const at = Date.parse(a.created_at) - Date.parse(b.created_at);
  return at < 0 || (at === 0 && a.run_id < b.run_id);
}
