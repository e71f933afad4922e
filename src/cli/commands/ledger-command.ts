import { readFileSync } from 'node:fs';
import { describeJsonFileError } from '../../domain/json-file-error.js';
import type { CommandModule } from 'yargs';
import { MaestroError } from '../../domain/errors.js';
import { verifyLedgerManifest, type LedgerManifest } from '../../hooks/claim-ledger/ledger-manifest.js';
import { emit, subcommand, type CommandIo, type GlobalArgs } from '../command-context.js';

type LedgerArgs = GlobalArgs & { manifest: string };

/** `maestro ledger verify <manifest>`: recompute a claim-ledger manifest's hash chain. */
export function ledgerCommand(io: CommandIo): CommandModule<GlobalArgs, LedgerArgs> {
  return {
    command: 'ledger <action>',
    describe: 'Claim-ledger manifests',
    builder: (y) =>
      y
        .command(
          subcommand<LedgerArgs>({
            command: 'verify <manifest>',
            describe: 'Check that no entry of a manifest was edited, removed or reordered',
            handler: (args) => {
              let manifest: LedgerManifest;
              try {
                manifest = JSON.parse(readFileSync(args.manifest, 'utf8')) as LedgerManifest;
              } catch (error) {
                throw new MaestroError('LEDGER_INVALID', `${args.manifest} ${describeJsonFileError(error)}`);
              }
              const result = verifyLedgerManifest(manifest);
              emit(
                io,
                args,
                { valid: true, ...result },
                () => `ok: ${result.entries} entries, manifest ${result.manifest_id}\n`,
              );
            },
          }),
        )
        .demandCommand(1) as never,
    handler: () => undefined,
  };
}
