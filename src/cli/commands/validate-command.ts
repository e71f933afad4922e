import type { CommandModule } from 'yargs';
import { Engine } from '../../maestro-engine.js';
import { MaestroError } from '../../domain/errors.js';
import { MAX_REPORTED_FAULTS, reportPlanFaults, type PlanFaults } from '../../plan/plan-fault-report.js';
import { openStore } from '../../store/open.js';
import { emit, type CommandIo, type GlobalArgs } from '../command-context.js';
import { ExitCode } from '../exit-codes.js';
import { formatError } from '../render/format-error.js';

/** One file's faults as the error blocks other commands print, under a line counting them. */
function describeFaults(file: string, report: PlanFaults): string {
  const count = `${report.total} fault${report.total === 1 ? '' : 's'}`;
  const blocks = report.faults.map((fault) =>
    formatError(new MaestroError('PLAN_INVALID', fault.message, { details: { ...fault, file } })),
  );
  const cut = report.cut > 0 ? [`${report.cut} more faults not listed (at most ${MAX_REPORTED_FAULTS} are)\n`] : [];
  return [`${file}: ${count}, in file order\n`, ...blocks, ...cut].join('');
}

/** `maestro validate <plan...>`: schema and graph checks, nothing stored; every fault of each file, in its order. */
export function validateCommand(io: CommandIo): CommandModule<GlobalArgs, GlobalArgs & { plans: string[] }> {
  return {
    command: 'validate <plans..>',
    describe: `Check plan files (schema, ids, needs, cycles, expressions, step kinds) without storing anything; lists each file's faults in file order (at most ${MAX_REPORTED_FAULTS})`,
    builder: (y) => y.positional('plans', { type: 'string', array: true, demandOption: true }),
    handler: async (args) => {
      const store = await openStore('memory://');
      const engine = new Engine({ store });
      try {
        const results = args.plans.map((file) => {
          const report = reportPlanFaults(file, (plan) => engine.compile(plan));
          if (!report.valid) {
            io.err.write(describeFaults(file, report));
            return { file, valid: false, faults: report.faults, faults_total: report.total, faults_cut: report.cut };
          }
          const { plan, compiled } = report;
          return { file, valid: true, name: plan.name, version: compiled.version, steps: compiled.steps.size };
        });
        emit(io, args, results, () =>
          results
            .map((r) =>
              r.valid ? `ok ${r.file}: plan ${r.name}, ${r.steps} steps, version ${r.version!.slice(0, 12)}\n` : '',
            )
            .join(''),
        );
        io.exitCode = results.every((r) => r.valid) ? ExitCode.succeeded : ExitCode.invalidInput;
      } finally {
        engine.close();
        await store.close();
      }
    },
  };
}
