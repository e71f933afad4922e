import type { CommandModule } from 'yargs';
import { Engine } from '../../maestro-engine.js';
import { openStore } from '../../store/open.js';
import type { CommandIo, GlobalArgs } from '../command-context.js';
import { planToDot, planToMermaid } from '../render/graph.js';

/** `maestro graph <plan.json>`: the DAG as Mermaid, or DOT with --format dot. */
export function graphCommand(io: CommandIo): CommandModule<GlobalArgs, GlobalArgs & { plan: string; format: string }> {
  return {
    command: 'graph <plan>',
    describe: 'Print the plan DAG as Mermaid (default) or Graphviz DOT',
    builder: (y) =>
      y
        .positional('plan', { type: 'string', demandOption: true })
        .option('format', { choices: ['mermaid', 'dot'], default: 'mermaid' }),
    handler: async (args) => {
      const store = await openStore('memory://');
      const engine = new Engine({ store });
      try {
        const { compiled } = engine.compilePlanFile(args.plan);
        io.out.write(args.format === 'dot' ? planToDot(compiled) : planToMermaid(compiled));
      } finally {
        engine.close();
        await store.close();
      }
    },
  };
}
