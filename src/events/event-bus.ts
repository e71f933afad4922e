import { EventEmitter } from 'node:events';
import type * as TypedEmitterModule from 'typed-emitter';
import type { EventDataByType, EventDocument } from '../generated/schemas.js';
import { isoNow, type Clock, systemClock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import type { NewEvent, RunStore } from '../store/port.js';
import type { EventType } from './event-types.js';

/** A stored event whose `data` has the shape its type promises (schemas/event-data.schema.json). */
export type LifecycleEvent<T extends EventType = EventType> = Omit<EventDocument, 'type' | 'data'> & {
  type: T;
  data: EventDataByType[T];
};

/** An event not yet stored: its type, its data (the shape its type promises) and its step, if any. */
export interface PendingEvent<T extends EventType = EventType> {
  type: T;
  data: EventDataByType[T];
  stepId?: string | undefined;
}

/** Listeners by event type, plus `event` for every one. Listeners see an event only after it is stored. */
export type LifecycleEvents = {
  [K in EventType | 'event']: K extends EventType ? (event: LifecycleEvent<K>) => void : (event: EventDocument) => void;
};

/**
 * Records lifecycle events: stored first (with the run's next gap-free seq), then emitted. Renderers, loggers
 * and the hook outbox subscribe here; the engine never prints.
 */
type TypedEmitter<T extends TypedEmitterModule.EventMap> = TypedEmitterModule.default<T>;

export class EventBus extends (EventEmitter as new () => TypedEmitter<LifecycleEvents>) {
  constructor(
    private readonly store: RunStore,
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.setMaxListeners(100);
  }

  async record<T extends EventType>(
    runId: string,
    type: T,
    data: EventDataByType[T],
    stepId?: string,
    eventId: string = newId(),
  ): Promise<LifecycleEvent<T>> {
    // The id is chosen once, so a store retry after a lost answer recognises its own write.
    const stored = await this.store.appendEvent(this.newEvent(runId, { type, data, stepId }), eventId);
    this.announce(stored);
    return stored as unknown as LifecycleEvent<T>;
  }

  /** Several events of one run, stored in one write where the store allows it, then emitted in order. */
  async recordMany(runId: string, items: readonly PendingEvent[]): Promise<void> {
    const batch = items.map((item) => ({ event: this.newEvent(runId, item), eventId: newId() }));
    for (const stored of await this.store.appendEvents(batch)) this.announce(stored);
  }

  private newEvent(runId: string, { type, data, stepId }: PendingEvent): NewEvent {
    return { run_id: runId, type, at: isoNow(this.clock), data: { ...data }, ...(stepId ? { step_id: stepId } : {}) };
  }

  private announce(stored: EventDocument): void {
    (this.emit as (type: EventType, event: EventDocument) => boolean)(stored.type, stored);
    this.emit('event', stored);
  }
}
