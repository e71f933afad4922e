import { ExecutorRegistry } from './executor-registry.js';
import { execExecutor } from './exec-executor.js';
import { handlerExecutor } from './handler-executor.js';
import { httpExecutor } from './http-executor.js';
import { manualExecutor } from './manual-executor.js';
import { noopExecutor } from './noop-executor.js';
import { planExecutor } from './plan-executor.js';
import { sleepExecutor } from './sleep-executor.js';
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
