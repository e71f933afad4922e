import type { CommandModule } from 'yargs';
import { migrateStore, type MigrationAction } from '../../store/open.js';
import { emit, type CommandIo, type GlobalArgs } from '../command-context.js';
import { formatTable } from '../render/table.js';

/** `maestro migrate up|down|status`: migrate-mongo migrations of a MongoDB store. */
export function migrateCommand(io: CommandIo): CommandModule<GlobalArgs, GlobalArgs & { action: MigrationAction }> {
  return {
    command: 'migrate <action>',
    describe: 'Apply (up), revert the last (down) or list (status) MongoDB migrations',
    builder: (y) => y.positional('action', { choices: ['up', 'down', 'status'] as const, demandOption: true }),
    handler: async (args) => {
      const result = await migrateStore(args.store, args.action);
      if (result.action === 'status') {
        const items = result.migrations;
        emit(io, args, items, () =>
          formatTable(
            ['MIGRATION', 'APPLIED_AT'],
            items.map((m) => [m.fileName, m.appliedAt]),
          ),
        );
        return;
      }
      const verb = result.action === 'up' ? 'applied' : 'reverted';
      const { names } = result;
      emit(io, args, { [verb]: names }, () =>
        names.length ? names.map((n) => `${verb} ${n}\n`).join('') : 'nothing to do\n',
      );
    },
  };
}
