import { EventEmitter } from 'node:events';
import type * as TypedEmitterModule from 'typed-emitter';
import type { EventDocument } from '../generated/schemas.js';
import { isoNow, type Clock, systemClock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import type { RunStore } from '../store/port.js';
import type { EventType } from './event-types.js';

/** Listeners by event type, plus `event` for every one. Listeners see an event only after it is stored. */
export type LifecycleEvents = { [K in EventType]: (event: EventDocument) => void } & {
  event: (event: EventDocument) => void;
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

  async record(
    runId: string,
    type: EventType,
    data: Record<string, unknown> = {},
    stepId?: string,
  ): Promise<EventDocument> {
    // The id is chosen once, so a store retry after a lost answer recognises its own write.
    const event = await this.store.appendEvent(
      { run_id: runId, type, at: isoNow(this.clock), data, ...(stepId ? { step_id: stepId } : {}) },
      newId(),
    );
    this.emit(type, event);
    this.emit('event', event);
    return event;
  }
}
