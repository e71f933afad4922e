import { isoNow, type Clock } from '../domain/clock.js';
import type { Telemetry } from '../domain/telemetry.js';
import { contextOfTraceparent, maestroTracer, SpanStatusCode } from '../domain/trace-context.js';
import { hookCursorKey } from '../domain/hook-cursor.js';
import type { RunDocument } from '../generated/schemas.js';
import type { HookContext, HookRefs, ProvenanceHook } from './hook-api.js';
import type { RunStore } from '../store/port.js';

const BATCH = 500;
const ATTEMPTS_PER_EVENT = 3;

export interface HookOutboxOptions {
  store: RunStore;
  clock: Clock;
  workspace: string;
  runnerId: string;
  telemetry: Telemetry;
  /** The hooks of a run (from its plan's `hooks` and the always-hooks). */
  hooksOf(run: RunDocument): Promise<ProvenanceHook[]>;
}

/**
 * Delivers stored events to hooks: per run and hook, every event after the hook's cursor, in seq order, then
 * moves the cursor. Because it reads the events back from the store, a runner killed before delivering
 * delivers on resume (at least once). One delivery chain per run at a time in this process.
 */
export class HookOutbox {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending = new Set<string>();
  private readonly hooksByRun = new Map<string, Promise<ProvenanceHook[]>>();

  constructor(private readonly options: HookOutboxOptions) {}

  /** Something was stored for this run: deliver it soon (coalesced). */
  kick(runId: string): void {
    if (this.pending.has(runId)) return;
    this.pending.add(runId);
    const previous = this.chains.get(runId) ?? Promise.resolve();
    const next = previous.then(async () => {
      this.pending.delete(runId);
      await this.deliver(runId);
    });
    const settled = next.catch(() => undefined);
    this.chains.set(runId, settled);
    void settled.then(() => {
      if (this.chains.get(runId) === settled && !this.pending.has(runId)) this.chains.delete(runId);
    });
  }

  /** Waits until everything stored for the run so far is delivered. */
  async drain(runId: string): Promise<void> {
    this.kick(runId);
    await this.chains.get(runId);
  }

  private async deliver(runId: string): Promise<void> {
    const { store } = this.options;
    const known = this.hooksByRun.get(runId);
    // Most runs have no hooks: after the first look, their events cost nothing here.
    if (known && (await known).length === 0) return;
    let run = await store.getRun(runId);
    if (!run) return;
    let hooksPromise = known;
    if (!hooksPromise) {
      // A cache, not a registry: a long-lived server forgets old runs' hook lists rather than grow without bound.
      if (this.hooksByRun.size >= 10_000) this.hooksByRun.clear();
      hooksPromise = this.options.hooksOf(run);
      this.hooksByRun.set(runId, hooksPromise);
    }
    const hooks = await hooksPromise;
    for (const hook of hooks) {
      let cursor = run.hook_cursors?.[hookCursorKey(hook.name)] ?? 0;
      for (;;) {
        const events = await store.listEvents(runId, cursor, BATCH);
        if (events.length === 0) break;
        // Read once per batch, not per event: the run as it is after the events being delivered were stored.
        run = (await store.getRun(runId)) ?? run;
        for (const event of events) {
          const handler = hook.on[event.type] ?? hook.on['*'];
          if (handler) await this.callHook(hook, handler, event, run);
          cursor = event.seq;
        }
        await store.recordHookDelivery(runId, hook.name, cursor);
        if (events.length < BATCH) break;
      }
    }
  }

  /** One event to one hook: retried a few times, then recorded as a failure on the run; never thrown. */
  private async callHook(
    hook: ProvenanceHook,
    handler: NonNullable<ProvenanceHook['on']['*']>,
    event: Parameters<typeof handler>[0],
    run: RunDocument,
  ): Promise<void> {
    const context: HookContext = {
      run,
      getRunDetail: (id) => this.options.store.getRunDetail(id),
      workspace: this.options.workspace,
      runnerId: this.options.runnerId,
    };
    const span = maestroTracer().startSpan(
      `maestro.hook ${hook.name}`,
      { attributes: { 'maestro.run_id': run.run_id, 'maestro.hook': hook.name, 'maestro.event_type': event.type } },
      contextOfTraceparent(run.traceparent),
    );
    try {
      const failure = await this.deliverWithRetries(hook, handler, event, run, context);
      span.setAttribute('maestro.outcome', failure === undefined ? 'ok' : 'failed');
      if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    } finally {
      span.end();
    }
  }

  /** Delivers with retries; after the last one the failure is recorded on the run and its message returned. */
  private async deliverWithRetries(
    hook: ProvenanceHook,
    handler: NonNullable<ProvenanceHook['on']['*']>,
    event: Parameters<typeof handler>[0],
    run: RunDocument,
    context: HookContext,
  ): Promise<string | undefined> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS_PER_EVENT; attempt += 1) {
      try {
        const refs = await handler(event, context);
        if (refs) await this.writeRefs(run.run_id, refs);
        this.options.telemetry.hookDelivered(hook.name, true);
        return undefined;
      } catch (error) {
        lastError = error;
      }
    }
    this.options.telemetry.hookDelivered(hook.name, false);
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    await this.options.store.recordHookFailure(run.run_id, {
      hook: hook.name,
      seq: event.seq,
      message,
      at: isoNow(this.options.clock),
    });
    return message;
  }

  private async writeRefs(runId: string, refs: HookRefs): Promise<void> {
    if (refs.run) await this.options.store.addRunProvenance(runId, refs.run);
    for (const artifact of refs.artifacts ?? []) {
      await this.options.store.setArtifactProvenance(artifact.artifact_id, {
        ...(artifact.claim_ledger_ref ? { claim_ledger_ref: artifact.claim_ledger_ref } : {}),
        ...(artifact.intelgraph_entity_ids ? { intelgraph_entity_ids: artifact.intelgraph_entity_ids } : {}),
      });
    }
  }
}
