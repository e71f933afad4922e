// The hook API, defined beside the outbox that calls it (events/) and offered here to hook authors.
export type { HookContext, HookFactory, HookHandler, HookRefs, ProvenanceHook } from '../events/hook-api.js';
