import type { CommandModule } from 'yargs';
import type { AttachArtifactRequest } from '../../generated/schemas.js';
import { assertMatchesSchema } from '../../schema/validators.js';
import {
  emit,
  subcommand,
  withEngine,
  withReadOnlyEngine,
  type CommandIo,
  type GlobalArgs,
} from '../command-context.js';
import { formatTable } from '../render/table.js';

type ArtifactsArgs = GlobalArgs & {
  run_id: string;
  type: string;
  name?: string;
  location: string;
  step?: string;
  'media-type'?: string;
};

/** `maestro artifacts attach|list`. */
export function artifactsCommand(io: CommandIo): CommandModule<GlobalArgs, ArtifactsArgs> {
  return {
    command: 'artifacts <action>',
    describe: 'Record and list the artifacts of runs',
    builder: (y) =>
      y
        .command(
          subcommand<ArtifactsArgs>({
            command: 'attach <run_id> <location>',
            describe: 'Attach a workspace file (sha256 and size computed) or a URL to a run',
            builder: (b) =>
              b
                .option('type', {
                  type: 'string',
                  demandOption: true,
                  describe: 'document, report, model, dataset or disclosure_pack',
                })
                .option('name', { type: 'string' })
                .option('step', { type: 'string', describe: 'Step id' })
                .option('media-type', { type: 'string' }),
            handler: (args: ArtifactsArgs) =>
              withEngine(args, io, async ({ engine }) => {
                const request = {
                  type: args.type,
                  name: args.name ?? args.location.split('/').pop() ?? args.location,
                  location: args.location,
                  ...(args.step ? { step_id: args.step } : {}),
                  ...(args['media-type'] ? { media_type: args['media-type'] } : {}),
                };
                assertMatchesSchema<AttachArtifactRequest>(
                  'api/attach-artifact.schema.json',
                  request,
                  'INPUT_INVALID',
                  'artifact',
                );
                const artifact = await engine.attachArtifact(args.run_id, request, args.step);
                emit(
                  io,
                  args,
                  artifact,
                  () =>
                    `${artifact.artifact_id} ${artifact.name}${artifact.digest ? ` sha256:${artifact.digest.sha256}` : ''}\n`,
                );
              }),
          }),
        )
        .command(
          subcommand<ArtifactsArgs>({
            command: 'list <run_id>',
            describe: 'List the artifacts of a run',
            handler: (args: ArtifactsArgs) =>
              withReadOnlyEngine(args, io, async ({ engine }) => {
                const { artifacts } = await engine.getRunDetail(args.run_id);
                emit(io, args, artifacts, () =>
                  formatTable(
                    ['ARTIFACT_ID', 'TYPE', 'NAME', 'SIZE', 'SHA256', 'LOCATION'],
                    artifacts.map((a) => [
                      a.artifact_id,
                      a.type,
                      a.name,
                      String(a.size_bytes ?? ''),
                      a.digest?.sha256.slice(0, 16) ?? '',
                      a.location,
                    ]),
                  ),
                );
              }),
          }),
        )
        .demandCommand(1) as never,
    handler: () => undefined,
  };
}
