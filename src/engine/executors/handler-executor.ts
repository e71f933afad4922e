import { MaestroError } from '../../domain/errors.js';
import type { HandlerRegistry } from './handler-registry.js';
import type { StepExecutor } from './step-context.js';

/** Calls a function registered in code: the workflow-as-code side of Maestro. */
export function handlerExecutor(handlers: HandlerRegistry): StepExecutor {
  return {
    kind: 'handler',
    withSchema: 'steps/handler.schema.json',
    async execute(context) {
      const name = String(context.args.handler);
      const handler = handlers.get(name);
      if (!handler) {
        throw new MaestroError('HANDLER_NOT_FOUND', `no handler "${name}" is registered on this runner`, {
          details: {
            path: '$.with.handler',
            expected: `one of ${handlers.names().join(', ') || '(none registered)'}`,
            got: name,
          },
        });
      }
      const outputs = await handler(context);
      return { outputs: outputs ?? {} };
    },
  };
}
