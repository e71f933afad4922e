import type { CommandModule } from 'yargs';
import { Engine } from '../../maestro-engine.js';
import { openStore } from '../../store/open.js';
import { emit, type CommandIo, type GlobalArgs } from '../command-context.js';
import { ExitCode } from '../exit-codes.js';

/** `maestro validate <plan...>`: schema and graph checks, nothing stored. */
export function validateCommand(io: CommandIo): CommandModule<GlobalArgs, GlobalArgs & { plans: string[] }> {
  return {
    command: 'validate <plans..>',
    describe: 'Check plan files (schema, ids, needs, cycles, expressions, step kinds) without storing anything',
    builder: (y) => y.positional('plans', { type: 'string', array: true, demandOption: true }),
    handler: async (args) => {
      const store = await openStore('memory://');
      const engine = new Engine({ store });
      try {
        const results = args.plans.map((path) => {
          const { plan, compiled } = engine.compilePlanFile(path);
          return { file: path, name: plan.name, version: compiled.version, steps: compiled.steps.size };
        });
        emit(io, args, results, () =>
          results
            .map((r) => `ok ${r.file}: plan ${r.name}, ${r.steps} steps, version ${r.version.slice(0, 12)}\n`)
            .join(''),
        );
        io.exitCode = ExitCode.succeeded;
      } finally {
        engine.close();
        await store.close();
      }
    },
  };
}
