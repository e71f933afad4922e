import type { EventDataByType } from '../../generated/schemas.js';
import type { EventBus, PendingEvent } from '../../events/event-bus.js';
import type { EventType } from '../../events/event-types.js';

/** Events past which a waiting drain writes at once. */
export const EVENT_BATCH_LIMIT = 500;

interface Queued extends PendingEvent {
  /** Set when the step's next change waits for this event: resolved once it is stored (or will not be). */
  landed?: { promise: Promise<void>; resolve: () => void };
}

/**
 * The events of one run's driver, written behind its state changes instead of in line with them: in the order
 * they happened, the events queued in one turn of the event loop (or while a write was under way) in one write,
 * each announced only once stored. The driver's next write need not wait for them, with two exceptions that keep
 * the record whole: a step's next state change waits until the events of its earlier ones are stored, but for its
 * attempt's start (a runner killed in between leaves at most the current attempt's start and the step's last event
 * unwritten, which the next runner writes), and the run's end waits for all.
 */
export class RunEventQueue {
  private queued: Queued[] = [];
  private draining: Promise<void> | undefined;
  private failure: Error | undefined;
  /** Per step, the storing of its newest queued event. */
  private readonly stepStored = new Map<string, Promise<void>>();
  /** Set while the drain waits for more events before its first write: starts that write now. */
  private batchFull: (() => void) | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly runId: string,
    /** Called once when a write fails: the driver stops (resumably) on its next turn. */
    private readonly onFailure: () => void,
  ) {}

  /**
   * Queues an event. `holdsStep: false` (an attempt's start) lets the step's next change go ahead of it: the
   * next runner writes an ended attempt's missing start too, while a running one's start is written by its takeover.
   */
  add<T extends EventType>(type: T, data: EventDataByType[T], stepId?: string, holdsStep = true): void {
    this.throwIfFailed();
    const item: Queued = { type, data, stepId };
    if (stepId && holdsStep) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      item.landed = { promise, resolve };
      this.stepStored.set(stepId, promise);
    }
    this.queued.push(item);
    this.draining ??= this.drain();
    if (this.queued.length >= EVENT_BATCH_LIMIT) this.batchFull?.();
  }

  /** Resolves once the events queued so far for this step are stored. */
  async stepSettled(stepId: string): Promise<void> {
    const pending = this.stepStored.get(stepId);
    if (pending) await pending;
    this.throwIfFailed();
  }

  /** Resolves once every queued event is stored; throws what stopped a write. */
  async flush(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  /** Waits out a write under way, whatever its result (the driver is leaving). */
  async settle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** True once a write of this queue failed. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async drain(): Promise<void> {
    // One turn of the event loop before the first write: what the driver queues meanwhile (a chain's next step
    // starting after this one ended) goes in the same write, one commit instead of one per event. A driver that
    // never yields (steps that end in microtasks on an embedded store) cuts the wait short at a full batch.
    await new Promise<void>((resolve) => {
      const timer = setImmediate(() => go());
      const go = () => {
        clearImmediate(timer);
        this.batchFull = undefined;
        resolve();
      };
      this.batchFull = go;
    });
    while (this.queued.length > 0 && this.failure === undefined) {
      const batch = this.queued;
      this.queued = [];
      try {
        await this.bus.recordMany(this.runId, batch);
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.onFailure();
      }
      for (const item of batch) this.release(item);
    }
    // Left unwritten after a failure: the steps they belong to are recovered by the next runner.
    for (const item of this.queued.splice(0)) this.release(item);
    this.draining = undefined;
  }

  /** Wakes what waits on this event, and forgets it unless a newer event of its step is queued. */
  private release({ landed, stepId }: Queued): void {
    if (!landed) return;
    landed.resolve();
    if (this.stepStored.get(stepId!) === landed.promise) this.stepStored.delete(stepId!);
  }
}
