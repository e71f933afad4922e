import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import type { ScheduleDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { ID_PATTERN } from '../../domain/ids.js';
import {
  emit,
  subcommand,
  withEngine,
  withReadOnlyEngine,
  type CommandIo,
  type GlobalArgs,
} from '../command-context.js';
import { parseKeyValues, parseLabels, readRunInputs } from '../parse-inputs.js';
import { formatPage } from '../render/table.js';

type SchedulesArgs = GlobalArgs & {
  plan?: string;
  schedule_id?: string;
  cron?: string;
  timezone: string;
  name?: string;
  input: string[];
  inputs?: string;
  'secret-input': string[];
  label: string[];
  catchup: ScheduleDocument['catchup'];
  'catchup-limit': number;
  paused: boolean;
  limit: number;
  cursor?: string;
};

function describeSchedule(schedule: ScheduleDocument): string {
  return (
    `schedule ${schedule.schedule_id} ${schedule.name}  ${schedule.paused ? 'paused' : 'active'}\n` +
    `  cron "${schedule.cron}" (${schedule.timezone}), catch-up ${schedule.catchup}` +
    `${schedule.catchup === 'all' ? ` (up to ${schedule.catchup_limit})` : ''}\n` +
    `  plan ${schedule.plan_id}, owner ${schedule.owner}, next tick ${schedule.next_tick_at}` +
    `${schedule.last_tick_at ? `, last run for ${schedule.last_tick_at}` : ''}\n`
  );
}

/** `maestro schedules create|list|show|pause|resume|delete|trigger`. */
export function schedulesCommand(io: CommandIo): CommandModule<GlobalArgs, SchedulesArgs> {
  const onSchedule = (command: string, describe: string, act: (args: SchedulesArgs) => Promise<void>) =>
    subcommand<SchedulesArgs>({ command: `${command} <schedule_id>`, describe, handler: act });
  const changing = (
    command: string,
    describe: string,
    change: (engine: import('../../engine/engine.js').Engine, id: string) => Promise<ScheduleDocument>,
  ) =>
    onSchedule(command, describe, (args) =>
      withEngine(args, io, async ({ engine }) => {
        const schedule = await change(engine, args.schedule_id!);
        emit(io, args, schedule, () => describeSchedule(schedule));
      }),
    );
  return {
    command: 'schedules <action>',
    describe: 'Start runs of a plan on a cron; every worker fires them, each tick once',
    builder: (y) =>
      y
        .command(
          subcommand<SchedulesArgs>({
            command: 'create <plan>',
            describe: 'Schedule a stored plan (plan id) or a plan file (applied first)',
            builder: (b) =>
              b
                .option('cron', {
                  type: 'string',
                  demandOption: true,
                  describe: 'e.g. "0 3 * * *"; six fields: seconds first',
                })
                .option('timezone', { type: 'string', default: 'UTC', describe: 'IANA time zone of the cron' })
                .option('name', { type: 'string' })
                .option('input', { alias: 'i', type: 'string', array: true, default: [], describe: 'key=value' })
                .option('inputs', { type: 'string', describe: 'A JSON file of run inputs' })
                .option('secret-input', {
                  type: 'string',
                  array: true,
                  default: [],
                  describe: 'input=SECRET: a write-only input, resolved from the secret when a tick fires',
                })
                .option('label', { type: 'string', array: true, default: [] })
                .option('catchup', {
                  choices: ['skip', 'one', 'all'] as const,
                  default: 'skip' as const,
                  describe: 'Ticks missed while no worker ran: none, the latest, or all (up to --catchup-limit)',
                })
                .option('catchup-limit', { type: 'number', default: 10 })
                .option('paused', { type: 'boolean', default: false }),
            handler: (args) =>
              withEngine(args, io, async ({ engine, store }) => {
                const planDoc =
                  ID_PATTERN.test(args.plan!) && !existsSync(args.plan!)
                    ? await store.getPlan(args.plan!)
                    : await engine.applyPlanFile(args.plan!, args.owner);
                if (!planDoc)
                  throw new MaestroError('PLAN_NOT_FOUND', `no plan ${args.plan}`, { details: { path: 'plan' } });
                const { schedule } = await engine.schedules.create({
                  plan_id: planDoc.plan_id,
                  cron: args.cron!,
                  timezone: args.timezone,
                  ...(args.name ? { name: args.name } : {}),
                  inputs: readRunInputs(args.inputs, args.input),
                  secret_inputs: Object.fromEntries(
                    Object.entries(parseKeyValues(args['secret-input'], '--secret-input')).map(([k, v]) => [
                      k,
                      String(v),
                    ]),
                  ),
                  labels: parseLabels(args.label),
                  catchup: args.catchup,
                  catchup_limit: args['catchup-limit'],
                  paused: args.paused,
                  owner: args.owner ?? planDoc.owner,
                });
                emit(io, args, schedule, () => describeSchedule(schedule));
              }),
          }),
        )
        .command(
          subcommand<SchedulesArgs>({
            command: 'list',
            describe: 'List schedules, newest first',
            builder: (b) => b.option('limit', { type: 'number', default: 50 }).option('cursor', { type: 'string' }),
            handler: (args) =>
              withReadOnlyEngine(args, io, async ({ engine }) => {
                const page = await engine.schedules.list(args.owner, {
                  limit: args.limit,
                  ...(args.cursor ? { cursor: args.cursor } : {}),
                });
                emit(io, args, page, () =>
                  formatPage(page, ['SCHEDULE_ID', 'NAME', 'CRON', 'TIMEZONE', 'STATE', 'NEXT_TICK'], (s) => [
                    s.schedule_id,
                    s.name,
                    s.cron,
                    s.timezone,
                    s.paused ? 'paused' : 'active',
                    s.next_tick_at,
                  ]),
                );
              }),
          }),
        )
        .command(
          onSchedule('show', 'Show a schedule', (args) =>
            withReadOnlyEngine(args, io, async ({ engine }) => {
              const schedule = await engine.schedules.get(args.schedule_id!);
              emit(io, args, schedule, () => describeSchedule(schedule));
            }),
          ),
        )
        .command(
          changing('pause', 'Stop firing ticks (a trigger still works)', (e, id) => e.schedules.setPaused(id, true)),
        )
        .command(
          changing('resume', 'Fire ticks again, from the next one on', (e, id) => e.schedules.setPaused(id, false)),
        )
        .command(
          onSchedule('delete', 'Delete a schedule (its runs stay)', (args) =>
            withEngine(args, io, async ({ engine }) => {
              await engine.schedules.delete(args.schedule_id!);
              emit(io, args, { deleted: args.schedule_id }, () => `deleted ${args.schedule_id}\n`);
            }),
          ),
        )
        .command(
          onSchedule('trigger', 'Start a run of the schedule now', (args) =>
            withEngine(args, io, async ({ engine }) => {
              const run = await engine.schedules.trigger(args.schedule_id!);
              emit(io, args, run, () => `${run.run_id} ${run.status}\n`);
            }),
          ),
        )
        .demandCommand(1) as never,
    handler: () => undefined,
  };
}
