import type { StepExecutor } from './step-context.js';

/** Waits for a person or an outside system to report the step's status (API `PATCH …/steps/:id` or `maestro steps update`). */
export const manualExecutor: StepExecutor = {
  kind: 'manual',
  withSchema: 'steps/manual.schema.json',
  async execute(context) {
    const prompt =
      typeof context.args.prompt === 'string'
        ? context.args.prompt
        : `step ${context.step.key} waits for a status update`;
    context.logger.info(prompt);
    return { awaitExternal: true };
  },
};
