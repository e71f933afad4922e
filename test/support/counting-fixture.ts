import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../src/maestro-engine.js';
import { openStore } from '../../src/store/open.js';

/**
 * A diamond plan of four `handler` steps whose handler (loaded by workers with --handlers) appends
 * `<run_id> <step key> <runner id>` to executions.log each time it runs: the steps count themselves.
 */
export function writeCountingFixture(
  cwd: string,
  planName: string,
): { planFile: string; handlersModule: string; executionsLog: string; stepsPerRun: number } {
  writeFileSync(
    join(cwd, 'count.mjs'),
    `
    import { appendFileSync } from 'node:fs';
    export function register(engine) {
      engine.registerHandler('count', ({ run, step }) => {
        appendFileSync('executions.log', run.run_id + ' ' + step.key + ' ' + engine.runnerId + '\\n');
        return { done: true };
      });
    }
  `,
  );
  const planFile = `${planName}.json`;
  writeFileSync(
    join(cwd, planFile),
    JSON.stringify({
      name: planName,
      steps: [
        { id: 'a', uses: 'handler', with: { handler: 'count' } },
        { id: 'b', uses: 'handler', needs: ['a'], with: { handler: 'count' } },
        { id: 'c', uses: 'handler', needs: ['a'], with: { handler: 'count' } },
        { id: 'd', uses: 'handler', needs: ['b', 'c'], with: { handler: 'count' } },
      ],
    }),
  );
  return { planFile, handlersModule: 'count.mjs', executionsLog: join(cwd, 'executions.log'), stepsPerRun: 4 };
}

/**
 * Starts `count` runs of a stored plan through the engine on the given store (as `maestro runs start` does, without
 * a process per run), so a test spends its time on what it measures, not on starting Node a hundred times.
 */
export async function startRuns(storeUrl: string, planId: string, count: number): Promise<string[]> {
  const store = await openStore(storeUrl);
  const engine = new Engine({ store });
  try {
    const planDoc = await store.getPlan(planId);
    if (!planDoc) throw new Error(`no plan ${planId} in ${storeUrl}`);
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) ids.push((await engine.startRun(planDoc)).run.run_id);
    return ids;
  } finally {
    engine.close();
    await store.close();
  }
}
