import { MaestroError } from '../../domain/errors.js';
import type { PlanWith } from '../../generated/schemas.js';
import type { StepExecutor } from './step-context.js';
import { resolveWithin } from '../trust/workspace-path.js';

/** Runs another plan as a child run (parent_run_id, root_run_id) and takes its outputs. */
export const planExecutor: StepExecutor = {
  kind: 'plan',
  withSchema: 'steps/plan.schema.json',
  async execute(context) {
    const args = context.args as unknown as PlanWith;
    // A child plan comes from beside its parent (its directory, or the workspace for plans sent over the API).
    const planPath = resolveWithin(context.planDirectory, args.plan, '$.with.plan', "the parent plan's directory");
    const child = await context.runChildPlan(planPath, args.inputs ?? {});
    if (child.status !== 'succeeded') {
      throw new MaestroError(
        'STEP_FAILED',
        `child run ${child.run_id} ended ${child.status}${child.error_info ? `: ${child.error_info.message}` : ''}`,
        {
          retryable: false,
          details: { child_run_id: child.run_id, child_status: child.status },
        },
      );
    }
    return { outputs: child.outputs ?? {}, child_run_id: child.run_id };
  },
};
