// Workflow as code: a handler registered in code, called by `uses: handler` steps of a plan.
//   node examples/workflow-as-code.mjs
import { Engine, openStore, MaestroError } from 'maestro-conductor';

const store = await openStore('memory://');
const engine = new Engine({ store });

// A handler gets a typed context: resolved `args`, run inputs, upstream outputs, a logger, an abort signal,
// an idempotency key for its side effects, reportCost() and attachArtifact().
engine.registerHandler('price-quote', async ({ args, inputs, logger, reportCost, idempotencyKey, signal }) => {
  if (signal.aborted) throw signal.reason;
  logger.info(`quoting ${args.sku} for ${inputs.customer} (key ${idempotencyKey})`);
  if (typeof args.sku !== 'string') throw new MaestroError('STEP_FAILED', 'sku must be a string', { retryable: false });
  reportCost(0.02);
  return { sku: args.sku, price: args.sku.length * 10 };
});
engine.registerHandler('total', ({ upstream }) => ({
  total: upstream.quotes.outputs.items.reduce((sum, q) => sum + q.price, 0),
}));

const plan = {
  name: 'quote',
  inputs: {
    type: 'object',
    properties: { customer: { type: 'string' }, skus: { type: 'array', items: { type: 'string' } } },
    required: ['customer', 'skus'],
  },
  steps: [
    {
      id: 'quotes',
      foreach: '${{ inputs.skus }}',
      uses: 'handler',
      with: { handler: 'price-quote', sku: '${{ item }}' },
      retry: { max_attempts: 3, backoff_ms: 50 },
    },
    { id: 'sum', uses: 'handler', needs: ['quotes'], with: { handler: 'total' } },
  ],
  outputs: { total: '${{ steps.sum.outputs.total }}' },
};

try {
  const { plan: planDoc } = await engine.applyPlan(plan);
  const { run } = await engine.startRun(planDoc, { inputs: { customer: 'acme', skus: ['bolt', 'washer', 'nut'] } });
  const ended = await engine.executeRun(run.run_id);
  console.log(`run ${ended.run_id} ${ended.status}: total ${ended.outputs.total}, cost ${ended.usage.cost.toFixed(2)}`);
  if (ended.status !== 'succeeded') process.exitCode = 1;
} finally {
  engine.close();
  await store.close();
}
