import type { IndexSpec } from './document-collection.js';
import { Collection } from './stored-form.js';

/** The indexes every adapter creates; ids are the documents' _id, so they need none of their own. */
export const storeIndexes: readonly IndexSpec[] = [
  { collection: Collection.plans, name: 'plans_owner_name_created', keys: { owner: 1, name: 1, created_at: -1 } },
  { collection: Collection.plans, name: 'plans_plan_created', keys: { plan_id: 1, created_at: -1 } },
  { collection: Collection.runs, name: 'runs_status_owner_created', keys: { status: 1, owner: 1, created_at: -1 } },
  // runs list --status X without an owner (one user's store, an admin): a page read in order, not every such run.
  { collection: Collection.runs, name: 'runs_status_created', keys: { status: 1, created_at: -1 } },
  { collection: Collection.runs, name: 'runs_owner_created', keys: { owner: 1, created_at: -1 } },
  { collection: Collection.runs, name: 'runs_plan_created', keys: { plan_id: 1, created_at: -1 } },
  { collection: Collection.runs, name: 'runs_created', keys: { created_at: -1 } },
  {
    collection: Collection.runs,
    name: 'runs_parent_created',
    keys: { parent_run_id: 1, created_at: -1 },
    sparse: true,
  },
  {
    collection: Collection.runs,
    name: 'runs_idempotency_key',
    keys: { idempotency_key: 1 },
    unique: true,
    sparse: true,
  },
  // Retention: a root run's tree, and ended runs by age.
  { collection: Collection.runs, name: 'runs_root', keys: { root_run_id: 1 } },
  { collection: Collection.runs, name: 'runs_status_ended', keys: { status: 1, ended_at: 1 }, sparse: true },
  // Concurrency groups: a group's unfinished runs (a group is its owner's).
  {
    collection: Collection.runs,
    name: 'runs_owner_concurrency_group',
    keys: { 'concurrency.group': 1, owner: 1, status: 1 },
    sparse: true,
  },
  // Schedules: the due ones, and the one a plan file keeps.
  { collection: Collection.schedules, name: 'schedules_due', keys: { paused: 1, next_tick_at: 1 } },
  { collection: Collection.schedules, name: 'schedules_owner_created', keys: { owner: 1, created_at: -1 } },
  { collection: Collection.schedules, name: 'schedules_plan_key', keys: { plan_key: 1 }, unique: true, sparse: true },
  { collection: Collection.steps, name: 'steps_run_key', keys: { run_id: 1, key: 1 }, unique: true },
  { collection: Collection.artifacts, name: 'artifacts_run', keys: { run_id: 1, created_at: 1 } },
  { collection: Collection.events, name: 'events_run_seq', keys: { run_id: 1, seq: 1 }, unique: true },
  // Scale-out: steps offered to any runner, oldest first (a step is offered until claimed or ended, so the sparse
  // index holds the open offers only); an attempt's log chunks in order.
  { collection: Collection.steps, name: 'steps_offered', keys: { offered_at: 1 }, sparse: true },
  {
    collection: Collection.logChunks,
    name: 'log_chunks_attempt_seq',
    keys: { run_id: 1, key: 1, attempt: 1, seq: 1 },
    unique: true,
  },
];
