import type { EventDocument, RunDocument } from '../generated/schemas.js';
import type { EventType } from './event-types.js';
import type { ProvenanceRefs, RunDetail } from '../store/port.js';

/** What a hook may read and where it may write its files. */
export interface HookContext {
  /** The run as stored when the event is delivered. */
  readonly run: RunDocument;
  getRunDetail(runId: string): Promise<RunDetail | undefined>;
  /** Root for the hook's files (ledger manifests, lineage, attestations live under `.maestro/`). */
  readonly workspace: string;
  readonly runnerId: string;
}

/** References a hook hands back; Maestro writes them onto the run and its artifacts. */
export interface HookRefs {
  run?: ProvenanceRefs;
  artifacts?: Array<{ artifact_id: string; claim_ledger_ref?: string; intelgraph_entity_ids?: string[] }>;
}

export type HookHandler = (event: EventDocument, context: HookContext) => Promise<HookRefs | void> | HookRefs | void;

/**
 * A provenance hook: a name and handlers by event type (`'*'` for every event). Delivery is at least once and in
 * seq order per run, from the stored events; a handler that throws is retried, then recorded on the run, and
 * never fails it. Handlers must therefore be idempotent.
 */
export interface ProvenanceHook {
  readonly name: string;
  readonly on: Partial<Record<EventType | '*', HookHandler>>;
}

/** A hook built from options (config file, plan), as a module exports it. */
export type HookFactory = (options: Record<string, unknown>) => ProvenanceHook;
