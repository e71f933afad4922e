import type { CommandModule } from 'yargs';
import { MaestroError } from '../../domain/errors.js';
import { runMigrations, type MigrationAction, type MigrationStatus } from '../../store/mongo/mongo-migrations.js';
import { parseStoreUrl } from '../../store/open.js';
import { emit, type CommandIo, type GlobalArgs } from '../command-context.js';
import { formatTable } from '../render/table.js';

/** `maestro migrate up|down|status`: migrate-mongo migrations of a MongoDB store. */
export function migrateCommand(io: CommandIo): CommandModule<GlobalArgs, GlobalArgs & { action: MigrationAction }> {
  return {
    command: 'migrate <action>',
    describe: 'Apply (up), revert the last (down) or list (status) MongoDB migrations',
    builder: (y) => y.positional('action', { choices: ['up', 'down', 'status'] as const, demandOption: true }),
    handler: async (args) => {
      const config = parseStoreUrl(args.store);
      if (config.kind !== 'mongodb') {
        throw new MaestroError(
          'STORE_URL_INVALID',
          'migrations apply to MongoDB stores; the embedded store needs none',
          { details: { path: '--store', expected: 'a mongodb:// URL' } },
        );
      }
      const result = await runMigrations(args.action, config.url, config.database);
      if (args.action === 'status') {
        const items = result as MigrationStatus[];
        emit(io, args, items, () =>
          formatTable(
            ['MIGRATION', 'APPLIED_AT'],
            items.map((m) => [m.fileName, m.appliedAt]),
          ),
        );
      } else {
        const names = result as string[];
        emit(io, args, { [args.action === 'up' ? 'applied' : 'reverted']: names }, () =>
          names.length
            ? names.map((n) => `${args.action === 'up' ? 'applied' : 'reverted'} ${n}\n`).join('')
            : 'nothing to do\n',
        );
      }
    },
  };
}
