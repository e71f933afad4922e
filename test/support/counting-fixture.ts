import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A diamond plan of four `handler` steps whose handler (loaded by workers with --handlers) appends
 * `<run_id> <step key> <runner id>` to executions.log each time it runs: the steps count themselves.
 */
export function writeCountingFixture(cwd: string, planName: string): { planFile: string; handlersModule: string; executionsLog: string; stepsPerRun: number } {
  writeFileSync(join(cwd, 'count.mjs'), `
    import { appendFileSync } from 'node:fs';
    export function register(engine) {
      engine.registerHandler('count', ({ run, step }) => {
        appendFileSync('executions.log', run.run_id + ' ' + step.key + ' ' + engine.runnerId + '\\n');
        return { done: true };
      });
    }
  `);
  const planFile = `${planName}.json`;
  writeFileSync(join(cwd, planFile), JSON.stringify({
    name: planName,
    steps: [
      { id: 'a', uses: 'handler', with: { handler: 'count' } },
      { id: 'b', uses: 'handler', needs: ['a'], with: { handler: 'count' } },
      { id: 'c', uses: 'handler', needs: ['a'], with: { handler: 'count' } },
      { id: 'd', uses: 'handler', needs: ['b', 'c'], with: { handler: 'count' } },
    ],
  }));
  return { planFile, handlersModule: 'count.mjs', executionsLog: join(cwd, 'executions.log'), stepsPerRun: 4 };
}
