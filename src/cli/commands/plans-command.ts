import type { CommandModule } from 'yargs';
import {
  emit,
  subcommand,
  withEngine,
  withReadOnlyEngine,
  type CommandIo,
  type GlobalArgs,
} from '../command-context.js';
import { formatPage } from '../render/table.js';
import { resolvePlan } from '../resolve-plan.js';

type PlansArgs = GlobalArgs & { file?: string; plan_id?: string; version?: string; limit: number; cursor?: string };

/** `maestro plans apply|list|show`. */
export function plansCommand(io: CommandIo): CommandModule<GlobalArgs, PlansArgs> {
  return {
    command: 'plans <action>',
    describe: 'Store plan versions and read them back',
    builder: (y) =>
      y
        .command(
          subcommand<PlansArgs>({
            command: 'apply <file>',
            describe: 'Validate a plan file and store it as a version (idempotent); its `schedule` block, if any, too',
            handler: (args: PlansArgs) =>
              withEngine(args, io, async ({ engine }) => {
                const planDoc = await engine.applyPlanFile(args.file!, args.owner);
                const schedule = await engine.schedules.applyPlanSchedule(planDoc);
                emit(
                  io,
                  args,
                  schedule ? { ...planDoc, schedule } : planDoc,
                  () =>
                    `plan ${planDoc.name} ${planDoc.plan_id} version ${planDoc.version}\n` +
                    (schedule
                      ? `schedule ${schedule.schedule_id} "${schedule.cron}" next tick ${schedule.next_tick_at}\n`
                      : ''),
                );
              }),
          }),
        )
        .command(
          subcommand<PlansArgs>({
            command: 'list',
            describe: 'List plan versions, newest first',
            builder: (b) => b.option('limit', { type: 'number', default: 50 }).option('cursor', { type: 'string' }),
            handler: (args: PlansArgs) =>
              withReadOnlyEngine(args, io, async ({ store }) => {
                const page = await store.listPlans(args.owner ? { owner: args.owner } : {}, {
                  limit: args.limit,
                  ...(args.cursor ? { cursor: args.cursor } : {}),
                });
                emit(io, args, page, () =>
                  formatPage(page, ['PLAN_ID', 'NAME', 'OWNER', 'VERSION', 'CREATED'], (p) => [
                    p.plan_id,
                    p.name,
                    p.owner,
                    p.version.slice(0, 12),
                    p.created_at,
                  ]),
                );
              }),
          }),
        )
        .command(
          subcommand<PlansArgs>({
            command: 'show <plan_id>',
            describe: 'Show a plan version (by plan id or name; the newest unless --version)',
            builder: (b) =>
              b.option('version', { type: 'string', describe: 'A version, or its first 12 characters as listed' }),
            handler: (args: PlansArgs) =>
              withReadOnlyEngine(args, io, async ({ store }) => {
                const planDoc = await resolvePlan(store, args.plan_id!, { version: args.version, owner: args.owner });
                io.out.write(`${JSON.stringify(planDoc, null, 2)}\n`);
              }),
          }),
        )
        .demandCommand(1) as never,
    handler: () => undefined,
  };
}
