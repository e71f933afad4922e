import { posix } from 'node:path';
import type { ArtifactSpec, PlanStep } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import type { ReferenceScope } from './check-references.js';

/** What this check reads of a compiled step. */
interface StepOfPlan {
  id: string;
  path: string;
  isGroup: boolean;
  spec: PlanStep;
}

function planInvalid(message: string, path: string, expected: string): MaestroError {
  return new MaestroError('PLAN_INVALID', `${path}: ${message}`, { details: { path, expected } });
}

/** The name a declared file artifact is recorded under: its `name`, else the last part of its path. */
export function declaredArtifactName(spec: ArtifactSpec): string {
  return spec.name ?? (posix.basename(posix.resolve('/', spec.path ?? '')) || 'artifact');
}

/**
 * Why a workspace path given in a plan may not be written by the runner, if it may not: it must be relative, and no
 * part of it may start with a dot (`..`, `.maestro/`, `.git/`, a dotfile), so it stays in the workspace and off the
 * runner's files and the files tools read their configuration from.
 */
function pathFault(path: string): string | undefined {
  if (path.includes('\0')) return 'holds a NUL character';
  if (path.startsWith('/')) return 'is absolute';
  const parts = path.split('/');
  if (parts.some((part) => part === '')) return 'has an empty part (// or a trailing /)';
  if (parts.some((part) => part.startsWith('.'))) return 'has a part that starts with a dot (.., .maestro, a dotfile)';
  return undefined;
}

/**
 * `artifacts_in` of one step: each names a step upstream of it (so the producer has succeeded before it starts) that
 * is a single leaf step declaring a file artifact of that name, and a workspace path the runner may write.
 */
export function checkArtifactInputs(
  step: StepOfPlan,
  steps: ReadonlyMap<string, StepOfPlan>,
  scope: ReferenceScope,
): void {
  const inputs = step.spec.artifacts_in;
  if (!inputs?.length) return;
  if (step.isGroup)
    throw planInvalid(
      'a group runs nothing itself: put artifacts_in on the steps inside it that read the files',
      `${step.path}.artifacts_in`,
      'artifacts_in on a step with uses',
    );
  const targets = new Map<string, number>();
  inputs.forEach((input, index) => {
    const at = `${step.path}.artifacts_in[${index}]`;
    const producer = steps.get(input.step);
    if (!producer || !scope.canSee(input.step)) {
      const why = producer
        ? `step "${input.step}" is not upstream of step "${step.id}": it must be a step it needs, directly or through the steps it needs (or one its group needs)`
        : `unknown step "${input.step}"`;
      throw planInvalid(why, `${at}.step`, `one of ${scope.visibleSteps().join(', ') || '(no upstream steps)'}`);
    }
    if (producer.isGroup || producer.spec.foreach !== undefined)
      throw planInvalid(
        `step "${input.step}" ${producer.isGroup ? 'is a group: it records no artifacts of its own' : 'runs once per foreach item, each copy recording its own artifact'}`,
        `${at}.step`,
        'a step that runs once and declares the artifact',
      );
    const files = (producer.spec.artifacts ?? []).filter((spec) => spec.path !== undefined).map(declaredArtifactName);
    if (!files.includes(input.name))
      throw planInvalid(
        `step "${input.step}" declares no file artifact named "${input.name}"`,
        `${at}.name`,
        files.length > 0 ? `one of ${files.join(', ')}` : `a file artifact (path) declared in step "${input.step}"`,
      );
    const fault = pathFault(input.path);
    if (fault)
      throw planInvalid(
        `"${input.path}" ${fault}`,
        `${at}.path`,
        'a relative path inside the workspace with no part starting with a dot',
      );
    const normalized = posix.normalize(input.path);
    const earlier = targets.get(normalized);
    if (earlier !== undefined)
      throw planInvalid(
        `"${input.path}" is written by artifacts_in[${earlier}] too`,
        `${at}.path`,
        'one artifact per path',
      );
    targets.set(normalized, index);
  });
}
