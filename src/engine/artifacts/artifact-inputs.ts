import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ArtifactDocument, ArtifactInput, RunDocument, StepDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { CompiledStep } from '../../plan/compile-plan.js';
import type { RunStore } from '../../store/port.js';
import { assertNotHidden } from './artifact-recording.js';
import type { StepAttempt } from '../attempts/step-attempt.js';
import { parentKeyOf } from '../run-loop/step-tree.js';
import { realpathOfMaybeMissing, resolveWithin } from '../trust/workspace-path.js';

/** Reruns reuse succeeded steps of earlier runs; a reused producer's artifact is looked for this many runs back. */
const MAX_RERUN_HOPS = 50;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** What writing a step's artifacts_in needs from its attempt. */
interface ArtifactInputsContext {
  store: RunStore;
  workspace: string;
  /** The runner's own files (the workspace's .maestro/, its logs, its configured files): never written. */
  hidden: readonly string[];
  /** This runner's maximum artifact size: a larger artifact is not written. */
  maxBytes: number;
  run: RunDocument;
  step: StepDocument;
  compiled: CompiledStep;
  signal: AbortSignal;
  log: (line: string) => void;
}

/**
 * Writes the artifact files a step names in `artifacts_in` into the workspace before its executor runs, from the
 * store's blob area, so that the step finds them whichever runner produced them. Each file is streamed into a new
 * temporary file beside its path, hashed as it is written, and renamed onto the path only when its sha256 is the one
 * recorded with the artifact: ARTIFACT_DIGEST_MISMATCH otherwise, and ARTIFACT_UNAVAILABLE when the producer
 * recorded no such artifact with stored bytes. Neither is retried: the stored artifact will not change.
 */
export async function writeArtifactInputs(attempt: StepAttempt, log: { info(message: string): void }): Promise<void> {
  if (!attempt.compiled.spec.artifacts_in?.length) return;
  const { services } = attempt;
  await writeInputs({
    store: services.store,
    workspace: services.workspace,
    hidden: services.artifacts.hidden,
    maxBytes: services.artifacts.maxBytes,
    run: attempt.run,
    step: attempt.step,
    compiled: attempt.compiled,
    signal: attempt.controller.signal,
    log: (line) => log.info(line),
  });
}

async function writeInputs(context: ArtifactInputsContext): Promise<void> {
  const inputs = context.compiled.spec.artifacts_in ?? [];
  if (inputs.length === 0) return;
  const steps = new Map((await context.store.listSteps(context.run.run_id)).map((doc) => [doc.key, doc]));
  for (const [index, input] of inputs.entries()) {
    const field = `${context.compiled.path}.artifacts_in[${index}]`;
    const artifact = await findArtifact(context, steps, input, field);
    await writeArtifact(context, input, artifact, `${field}.path`);
  }
}

/** The producer as the consumer sees it: the sibling first, then outer levels (as `steps.<id>` is read). */
function visibleStep(
  steps: ReadonlyMap<string, StepDocument>,
  id: string,
  from: StepDocument,
): StepDocument | undefined {
  for (let scope = parentKeyOf(from.key); scope !== undefined; scope = parentKeyOf(scope)) {
    const found = steps.get(`${scope}.${id}`);
    if (found) return found;
  }
  return steps.get(id);
}

function unavailable(message: string, field: string, input: ArtifactInput): MaestroError {
  return new MaestroError('ARTIFACT_UNAVAILABLE', message, {
    retryable: false,
    details: { path: field, step: input.step, name: input.name },
  });
}

/** The newest artifact of that name with stored bytes that the producing attempt recorded (a reused one's run's). */
async function findArtifact(
  context: ArtifactInputsContext,
  steps: ReadonlyMap<string, StepDocument>,
  input: ArtifactInput,
  field: string,
): Promise<ArtifactDocument> {
  const { store, step } = context;
  let producer = visibleStep(steps, input.step, step);
  let run = context.run;
  for (let hop = 0; producer?.skip_reason === 'reused' && run.rerun_of && hop < MAX_RERUN_HOPS; hop += 1) {
    const earlier = await store.getRun(run.rerun_of.run_id);
    if (!earlier) break;
    const key = producer.key;
    producer = (await store.listSteps(earlier.run_id)).find((doc) => doc.key === key);
    run = earlier;
  }
  if (!producer)
    throw unavailable(`step ${step.key}: artifacts_in: no step ${input.step} in run ${run.run_id}`, field, input);
  const producerId = producer.step_id;
  const found = (await store.listArtifacts(run.run_id)).filter(
    (artifact) =>
      artifact.step_id === producerId && artifact.name === input.name && artifact.blob_id && artifact.digest,
  );
  const artifact = found.at(-1);
  if (!artifact)
    throw unavailable(
      `step ${step.key}: artifacts_in: step ${producer.key} of run ${run.run_id} recorded no artifact "${input.name}" with stored content`,
      field,
      input,
    );
  return artifact;
}

/** Streams the artifact's blob into the workspace path through a temporary file, checking its size and sha256. */
async function writeArtifact(
  context: ArtifactInputsContext,
  input: ArtifactInput,
  artifact: ArtifactDocument,
  field: string,
): Promise<void> {
  const { step, workspace, hidden, signal } = context;
  const expected = { sha256: artifact.digest!.sha256, size: artifact.size_bytes ?? 0 };
  if (expected.size > context.maxBytes)
    throw new MaestroError(
      'ARTIFACT_TOO_LARGE',
      `step ${step.key}: artifacts_in: artifact "${input.name}" holds ${expected.size} bytes, more than this runner's maximum artifact size of ${context.maxBytes} bytes (MAESTRO_MAX_ARTIFACT_BYTES)`,
      { retryable: false, details: { path: field, got: expected.size, limit: context.maxBytes } },
    );
  const blob = await context.store.blobs.openBlob(artifact.blob_id!);
  if (!blob)
    throw unavailable(
      `step ${step.key}: artifacts_in: the stored content of artifact "${input.name}" (${artifact.artifact_id}) is gone`,
      field.replace(/\.path$/, ''),
      input,
    );
  const target = resolveWithin(workspace, input.path, field);
  assertNotHidden(target, hidden, input.path, field);
  let temporary: string | undefined;
  let written = 0;
  try {
    await mkdir(dirname(target), { recursive: true });
    // Checked again once the directories exist: where they lead now is where the file goes, and no link is followed.
    const directory = realpathOfMaybeMissing(dirname(resolveWithin(workspace, input.path, field)));
    const destination = join(directory, basename(target));
    assertNotHidden(destination, hidden, input.path, field);
    temporary = join(directory, `.maestro-in-${newId()}.part`);
    const handle = await open(temporary, CREATE_FLAGS, 0o666);
    const hash = createHash('sha256');
    try {
      for await (const chunk of blob) {
        if (signal.aborted) throw signal.reason;
        written += chunk.length;
        // A blob longer than its artifact is not written out to the end.
        if (written > expected.size) break;
        hash.update(chunk);
        await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
    const sha256 = hash.digest('hex');
    if (written !== expected.size || sha256 !== expected.sha256)
      throw new MaestroError(
        'ARTIFACT_DIGEST_MISMATCH',
        `step ${step.key}: artifacts_in: the stored content of artifact "${input.name}" (${artifact.artifact_id}) is not what step ${input.step} recorded: ${written > expected.size ? `more than ${expected.size} bytes` : `${written} bytes with sha256 ${sha256}`}, not ${expected.size} bytes with sha256 ${expected.sha256}; ${input.path} was not written`,
        { retryable: false, details: { path: field, expected: expected.sha256, got: sha256 } },
      );
    await rename(temporary, destination);
  } catch (error) {
    if (temporary) await unlink(temporary).catch(() => undefined);
    if (error instanceof MaestroError || signal.aborted) throw error;
    throw new MaestroError(
      'STEP_FAILED',
      `step ${step.key}: artifacts_in: cannot write ${input.path}: ${(error as Error).message}`,
      { details: { path: field }, cause: error },
    );
  }
  context.log(
    `artifacts_in: wrote ${input.path} (${written} bytes, sha256 ${expected.sha256}) from artifact "${input.name}" of step ${input.step}`,
  );
}
