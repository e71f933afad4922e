import { setTimeout as sleep } from 'node:timers/promises';
import type { SleepWith } from '../../generated/schemas.js';
import type { StepExecutor } from './step-context.js';

export const sleepExecutor: StepExecutor = {
  kind: 'sleep',
  withSchema: 'steps/sleep.schema.json',
  async execute(context) {
    const { ms } = context.args as unknown as SleepWith;
    try {
      await sleep(ms, undefined, { signal: context.signal });
    } catch {
      throw context.signal.reason;
    }
    return { outputs: { slept_ms: ms } };
  },
};
