// Workflow as code: handlers registered in code, called by the `uses: handler` steps of examples/quote.json.
//   node examples/workflow-as-code.mjs                      runs the plan in memory
//   maestro-run examples/quote.json --handlers examples/workflow-as-code.mjs \
//     --input customer=acme --input 'skus=["bolt","washer","nut"]'
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, openStore, MaestroError } from 'maestro-conductor';

/** What `--handlers` (or MAESTRO_HANDLERS) calls: registers this module's handlers on the CLI's engine. */
export function register(engine) {
  // A handler gets a typed context: resolved `args`, run inputs, upstream outputs, a logger, an abort signal,
  // an idempotency key for its side effects, reportCost() and attachArtifact().
  engine.registerHandler('price-quote', async ({ args, inputs, logger, reportCost, idempotencyKey, signal }) => {
    if (signal.aborted) throw signal.reason;
    logger.info(`quoting ${args.sku} for ${inputs.customer} (key ${idempotencyKey})`);
    if (typeof args.sku !== 'string')
      throw new MaestroError('STEP_FAILED', 'sku must be a string', { retryable: false });
    reportCost(0.02);
    return { sku: args.sku, price: args.sku.length * 10 };
  });
  engine.registerHandler('total', ({ upstream }) => ({
    total: upstream.quotes.outputs.items.reduce((sum, q) => sum + q.price, 0),
  }));
}

// Run as a script (not imported by --handlers): the same plan, on an engine of its own.
if (process.argv[1] && realpathSync(process.argv[1]) === import.meta.filename) {
  const store = await openStore('memory://');
  const engine = new Engine({ store });
  register(engine);
  try {
    const planDoc = await engine.applyPlanFile(join(import.meta.dirname, 'quote.json'));
    const { run } = await engine.startRun(planDoc, { inputs: { customer: 'acme', skus: ['bolt', 'washer', 'nut'] } });
    const ended = await engine.executeRun(run.run_id);
    console.log(
      `run ${ended.run_id} ${ended.status}: total ${ended.outputs.total}, cost ${ended.usage.cost.toFixed(2)}`,
    );
    if (ended.status !== 'succeeded') process.exitCode = 1;
  } finally {
    engine.close();
    await store.close();
  }
}
