import type { EventDocument } from '../generated/schemas.js';
import { isMaestroError, MaestroError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { DocumentCollection, StoredDocument } from './document-collection.js';
import type { NewEvent } from './port.js';
import { Collection, fromStored, toStored } from './stored-form.js';
import { assertValidDocument } from './validate-document.js';

const MAX_EVENT_APPEND_TRIES = 50;

/** A run's events: appended with the next seq of their run (unique per run), read in seq order. */
export class EventLog {
  /** Last seq this process appended per run: the usual next seq, checked by the unique index. */
  private readonly lastSeq = new Map<string, number>();

  constructor(private readonly events: DocumentCollection) {}

  async append(event: NewEvent, eventId: string = newId()): Promise<EventDocument> {
    let seq = await this.nextSeq(event.run_id);
    for (let tries = 0; tries < MAX_EVENT_APPEND_TRIES; tries += 1) {
      const stored: EventDocument = { ...event, event_id: eventId, seq };
      if (tries === 0) assertValidDocument(Collection.events, stored);
      try {
        // The unique (run_id, seq) index makes this optimistic: the next seq is taken by exactly one writer.
        await this.events.insertOne(storedForm(stored));
        this.lastSeq.set(event.run_id, seq);
        return stored;
      } catch (error) {
        if (!isMaestroError(error, 'CONFLICT')) throw error;
        // Our own earlier write (its answer was lost to an outage) is not a conflict: the event is stored once.
        const mine = await this.events.findOne({ _id: eventId });
        if (mine) return fromStored<EventDocument>(Collection.events, mine);
        seq = (await this.readLastSeq(event.run_id)) + 1;
      }
    }
    throw new MaestroError('CONFLICT', `could not append an event to run ${event.run_id}: too many concurrent writers`);
  }

  /**
   * Several events of one run (INPUT_INVALID when another run's is among them, nothing written), in one write where
   * the store allows it, with consecutive seqs in the given order.
   * When another writer took one of those seqs (or a lost answer's earlier try landed), they go one at a time.
   */
  async appendMany(batch: ReadonlyArray<{ event: NewEvent; eventId: string }>): Promise<EventDocument[]> {
    const runId = batch[0]?.event.run_id;
    const other = batch.findIndex(({ event }) => event.run_id !== runId);
    if (other >= 0)
      throw new MaestroError(
        'INPUT_INVALID',
        `a batch of events holds events of one run only, not ${runId} and others`,
        {
          retryable: false,
          details: { path: `$[${other}].event.run_id`, expected: `"${runId}"` },
        },
      );
    if (batch.length < 2) return this.appendEach(batch);
    const first = await this.nextSeq(runId!);
    const stored = batch.map(({ event, eventId }, i): EventDocument => ({
      ...event,
      event_id: eventId,
      seq: first + i,
    }));
    for (const doc of stored) assertValidDocument(Collection.events, doc);
    try {
      await this.events.insertMany(stored.map(storedForm));
    } catch (error) {
      if (!isMaestroError(error, 'CONFLICT')) throw error;
      return this.appendEach(batch);
    }
    this.lastSeq.set(runId!, first + stored.length - 1);
    return stored;
  }

  private async appendEach(batch: ReadonlyArray<{ event: NewEvent; eventId: string }>): Promise<EventDocument[]> {
    const stored: EventDocument[] = [];
    for (const { event, eventId } of batch) stored.push(await this.append(event, eventId));
    return stored;
  }

  async list(runId: string, afterSeq: number, limit: number): Promise<EventDocument[]> {
    const found = await this.events.find({ run_id: runId, seq: { $gt: afterSeq } }, { sort: { seq: 1 }, limit });
    return found.map((doc) => fromStored<EventDocument>(Collection.events, doc));
  }

  /** The usual next seq of a run: after the last this process appended, else after the last stored. */
  private async nextSeq(runId: string): Promise<number> {
    return (this.lastSeq.get(runId) ?? (await this.readLastSeq(runId))) + 1;
  }

  async last(runId: string): Promise<EventDocument | undefined> {
    const last = await this.events.findOne({ run_id: runId }, { seq: -1 });
    return last ? fromStored<EventDocument>(Collection.events, last) : undefined;
  }

  private async readLastSeq(runId: string): Promise<number> {
    return (await this.last(runId))?.seq ?? 0;
  }
}

function storedForm(event: EventDocument): StoredDocument {
  return { ...toStored(Collection.events, event), _id: event.event_id };
}
