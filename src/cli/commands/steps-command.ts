import type { CommandModule } from 'yargs';
import type { UpdateStepRequest } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { assertMatchesSchema } from '../../schema/validators.js';
import { emit, subcommand, withEngine, type CommandIo, type GlobalArgs } from '../command-context.js';

type StepsArgs = GlobalArgs & {
  run_id: string;
  step: string;
  status: string;
  outputs?: string;
  'logs-ref'?: string;
  'error-message'?: string;
  'error-code'?: string;
  cost?: number;
};

function parseJsonFlag(flag: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new MaestroError('INPUT_INVALID', `${flag}: not valid JSON`, {
      details: { path: flag, expected: 'a JSON object' },
    });
  }
}

/** `maestro steps update`: report a step's status from outside (external workers, manual approvals). */
export function stepsCommand(io: CommandIo): CommandModule<GlobalArgs, StepsArgs> {
  return {
    command: 'steps <action>',
    describe: 'Report step status from outside the runner',
    builder: (y) =>
      y
        .command(
          subcommand<StepsArgs>({
            command: 'update <run_id> <step>',
            describe: 'Set a step (id or key) to running, succeeded, failed, skipped or cancelled',
            builder: (b) =>
              b
                .option('status', { type: 'string', demandOption: true })
                .option('outputs', { type: 'string', describe: 'JSON object' })
                .option('logs-ref', { type: 'string' })
                .option('error-message', { type: 'string' })
                .option('error-code', { type: 'string', default: 'step_failed' })
                .option('cost', { type: 'number' }),
            handler: (args: StepsArgs) =>
              withEngine(args, io, async ({ engine }) => {
                const request: Record<string, unknown> = { status: args.status };
                if (args.outputs !== undefined) request.outputs = parseJsonFlag('--outputs', args.outputs);
                if (args['logs-ref'] !== undefined) request.logs_ref = args['logs-ref'];
                if (args['error-message'] !== undefined)
                  request.error_info = { message: args['error-message'], code: args['error-code'] };
                if (args.cost !== undefined) request.cost = args.cost;
                assertMatchesSchema<UpdateStepRequest>(
                  'api/update-step.schema.json',
                  request,
                  'INPUT_INVALID',
                  'step update',
                );
                const { steps } = await engine.getRunDetail(args.run_id);
                const step = steps.find((s) => s.step_id === args.step || s.key === args.step);
                if (!step)
                  throw new MaestroError('STEP_NOT_FOUND', `run ${args.run_id} has no step ${args.step}`, {
                    details: { path: 'step' },
                  });
                const updated = await engine.updateStepStatus(args.run_id, step.step_id, request);
                emit(io, args, updated, () => `${updated.key} ${updated.status}\n`);
              }),
          }),
        )
        .demandCommand(1) as never,
    handler: () => undefined,
  };
}
