import { ExecutorRegistry } from './executor-registry.js';
import { execExecutor } from './executors/exec-executor.js';
import { handlerExecutor } from './executors/handler-executor.js';
import { httpExecutor } from './executors/http-executor.js';
import { manualExecutor } from './executors/manual-executor.js';
import { noopExecutor } from './executors/noop-executor.js';
import { planExecutor } from './executors/plan-executor.js';
import { sleepExecutor } from './executors/sleep-executor.js';
import type { HandlerRegistry } from './handler-registry.js';

/** The built-in step kinds of DESIGN.md; `handler` calls into the given registry. */
export function createDefaultExecutors(handlers: HandlerRegistry): ExecutorRegistry {
  return new ExecutorRegistry()
    .register(execExecutor)
    .register(httpExecutor)
    .register(handlerExecutor(handlers))
    .register(planExecutor)
    .register(manualExecutor)
    .register(noopExecutor)
    .register(sleepExecutor);
}
