import type { CommandModule } from 'yargs';
import { verifyAttestation } from '../../hooks/attestation/verify-attestation.js';
import { emit, type CommandIo, type GlobalArgs } from '../command-context.js';

type VerifyArgs = GlobalArgs & { envelope: string; key: string; base: string };

/** `maestro verify <envelope> --key <pub>`: signature and subject digests of an attestation. */
export function verifyCommand(io: CommandIo): CommandModule<GlobalArgs, VerifyArgs> {
  return {
    command: 'verify <envelope>',
    describe: "Verify a run's signed attestation: the Ed25519 signature and every subject's sha256 on disk",
    builder: (y) =>
      y
        .positional('envelope', { type: 'string', demandOption: true })
        .option('key', { type: 'string', demandOption: true, describe: 'Public key (PEM)' })
        .option('base', {
          type: 'string',
          default: process.cwd(),
          describe: 'Directory relative subject names resolve against',
        }),
    handler: async (args) => {
      const result = await verifyAttestation(args.envelope, args.key, args.base);
      emit(
        io,
        args,
        { valid: true, ...result },
        () => `ok: signature verified, ${result.subjects} subjects match (run ${result.run_id})\n`,
      );
    },
  };
}
