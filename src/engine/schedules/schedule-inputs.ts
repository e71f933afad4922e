import type { ScheduleDocument } from '../../generated/schemas.js';
import { MaestroError } from '../../domain/errors.js';
import { defineOwn } from '../../domain/own-property.js';
import type { SecretProvider } from '../secrets/secret-provider.js';

/** What a schedule needs to know of its plan's inputs. */
export interface PlanInputs {
  /** Throws INPUT_INVALID (details.path `$.inputs…`) when the inputs do not fit the plan. */
  validateInputs(inputs: Record<string, unknown>): void;
  names: { writeOnlyInputs: ReadonlySet<string> };
}

/** Stands in for a secret input's value when a schedule's inputs are checked before any tick resolves it. */
const PLACEHOLDER = 'secret-input-placeholder';

/**
 * A schedule's inputs checked against its plan. A schedule outlives every process, so it never holds a write-only
 * value: a plain one is refused, and `secret_inputs` names the secret each write-only input is resolved from when a
 * tick fires.
 */
export function checkScheduleInputs(
  plan: PlanInputs,
  inputs: Record<string, unknown>,
  secretInputs: Record<string, string>,
): void {
  const writeOnly = plan.names.writeOnlyInputs;
  for (const name of Object.keys(secretInputs)) {
    if (!writeOnly.has(name))
      throw new MaestroError(
        'INPUT_INVALID',
        `$.secret_inputs.${name}: ${name} is not a write-only input of the plan`,
        {
          details: {
            path: `$.secret_inputs.${name}`,
            expected: 'the name of an input marked writeOnly or format password',
          },
        },
      );
    if (Object.hasOwn(inputs, name))
      throw new MaestroError('INPUT_INVALID', `$.inputs.${name}: given both as a value and in secret_inputs`, {
        details: { path: `$.inputs.${name}`, expected: 'one of the two: secret_inputs' },
      });
  }
  for (const name of Object.keys(inputs)) {
    if (writeOnly.has(name))
      throw new MaestroError(
        'INPUT_INVALID',
        `$.inputs.${name}: ${name} is write-only, and a schedule does not store its value; name the secret it comes from in secret_inputs.${name}`,
        { details: { path: `$.inputs.${name}`, expected: `secret_inputs.${name}: a secret name` } },
      );
  }
  const standIns: Record<string, unknown> = { ...inputs };
  for (const name of Object.keys(secretInputs)) defineOwn(standIns, name, PLACEHOLDER);
  try {
    plan.validateInputs(standIns);
  } catch (error) {
    // A fault in a secret input's own value can only be seen once a tick resolves it: the tick's run checks it.
    const path = error instanceof MaestroError ? error.details.path : undefined;
    if (typeof path === 'string' && Object.keys(secretInputs).some((name) => isUnder(path, `$.inputs.${name}`))) return;
    throw error;
  }
}

/**
 * The inputs of a tick's run: the schedule's own, and each write-only one from the secret it names, resolved now by
 * the provider of the process that fires the tick (the run then holds it in memory, as for any write-only input).
 */
export async function tickInputs(
  schedule: ScheduleDocument,
  secrets: SecretProvider,
): Promise<Record<string, unknown>> {
  const inputs: Record<string, unknown> = { ...schedule.inputs };
  for (const [name, secret] of Object.entries(schedule.secret_inputs ?? {})) {
    const value = await secrets.resolve(secret);
    if (value === undefined || value === '')
      throw new MaestroError(
        'SECRET_MISSING',
        `schedule ${schedule.schedule_id}: secret ${secret} for the write-only input ${name} is not set (provider: ${secrets.description})`,
        { retryable: false, details: { secret, input: name } },
      );
    defineOwn(inputs, name, value);
  }
  return inputs;
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}
