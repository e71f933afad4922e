import { MaestroError } from '../../domain/errors.js';

/** A label as plans and `--labels` write it: gpu, eu-west, licence.matlab. */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** `--labels gpu,eu` (or MAESTRO_LABELS): the labels this runner has, refused with the field named if one is bad. */
export function parseRunnerLabels(text: string | undefined, field = '--labels'): string[] {
  const labels = (text ?? '')
    .split(',')
    .map((label) => label.trim())
    .filter((label) => label !== '');
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined)
    throw new MaestroError('INPUT_INVALID', `${field}: "${bad}" is not a label (letters, digits, . _ -; 63 at most)`, {
      details: { path: field, got: bad, expected: LABEL.source },
    });
  return [...new Set(labels)];
}

/** Whether a runner with `labels` may execute a step that runs on `runsOn` (it has every one of them). */
export function labelsFit(runsOn: readonly string[] | undefined, labels: ReadonlySet<string>): boolean {
  return (runsOn ?? []).every((label) => labels.has(label));
}
