// The public library API: `import { … } from 'maestro-conductor'`.
export { Engine } from './maestro-engine.js';
export type { EngineOptions, StartRunOptions } from './engine/engine.js';
export { ManualClock } from './domain/manual-clock.js';
export type { Clock } from './domain/clock.js';
export type {
  StepContext,
  StepExecutor,
  StepExecutionResult,
  ArtifactRequest,
  StepLogger,
} from './engine/executors/step-context.js';
export type { StepHandler } from './engine/executors/handler-registry.js';
export { openStore, parseStoreUrl, DEFAULT_STORE_URL } from './store/open.js';
export type { RunStore, RunFilter, Page, PageRequest, RunDetail } from './store/port.js';
export { loadPlanFile, parsePlan } from './plan/load-plan.js';
export { planVersion, canonicalJson } from './plan/plan-version.js';
export { MaestroError, isMaestroError } from './domain/errors.js';
export { ErrorCode } from './domain/error-codes.js';
export { RunStatus, StepStatus } from './domain/status.js';
export { EventType } from './events/event-types.js';
export type * from './generated/schemas.js';
