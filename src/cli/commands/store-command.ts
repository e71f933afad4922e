import type { CommandModule } from 'yargs';
import { isMaestroError } from '../../domain/errors.js';
import { importOldStore, type ImportedCollection } from '../../store/open.js';
import { emit, subcommand, type CommandIo, type GlobalArgs } from '../command-context.js';
import { formatTable } from '../render/table.js';

type ImportArgs = GlobalArgs & { 'old-url': string; merge: boolean };

function countsTable(collections: readonly ImportedCollection[]): string {
  return formatTable(
    ['COLLECTION', 'IN_NEDB', 'IN_SQLITE', 'UNREADABLE_LINES'],
    collections.map((row) => [
      row.collection,
      String(row.in_nedb),
      String(row.in_sqlite),
      String(row.unreadable_lines),
    ]),
  );
}

/** `maestro store import <old-url>`: the NeDB store of an earlier version, copied into the SQLite store. */
export function storeCommand(io: CommandIo): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'store <action>',
    describe: 'Manage the store itself: import the NeDB store of an earlier version',
    builder: (y) =>
      y
        .command(
          subcommand<ImportArgs>({
            command: 'import <old-url>',
            describe:
              'Copy every document of a NeDB store (nedb://.maestro/store) into the store --store names, verified by counts',
            builder: (c) =>
              c
                .positional('old-url', { type: 'string', demandOption: true, describe: 'nedb://dir or the directory' })
                .option('merge', {
                  type: 'boolean',
                  default: false,
                  describe: 'Import into a store that already holds runs (documents there with the same id are kept)',
                }),
            handler: async (args) => {
              try {
                const result = await importOldStore(args['old-url'], args.store, { merge: args.merge });
                emit(
                  io,
                  args,
                  result,
                  () => `imported ${result.from} into ${result.into}\n${countsTable(result.collections)}`,
                );
              } catch (error) {
                // The counts are shown when they are why nothing was imported; the error follows on stderr.
                const counts = isMaestroError(error, 'STORE_IMPORT_REFUSED') ? error.details.counts : undefined;
                if (Array.isArray(counts) && !args.json) io.out.write(countsTable(counts as ImportedCollection[]));
                throw error;
              }
            },
          }),
        )
        .demandCommand(1, 'name an action: import'),
    handler: () => undefined,
  };
}
