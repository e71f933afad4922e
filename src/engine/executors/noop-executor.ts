import type { NoopWith } from '../../generated/schemas.js';
import type { StepExecutor } from './step-context.js';

/** Does nothing; publishes `with.outputs` and reports `with.cost` (handy for tests, budgets and placeholders). */
export const noopExecutor: StepExecutor = {
  kind: 'noop',
  withSchema: 'steps/noop.schema.json',
  async execute(context) {
    const args = context.args as NoopWith;
    if (args.cost !== undefined) context.reportCost(args.cost);
    return { outputs: args.outputs ?? {} };
  },
};
