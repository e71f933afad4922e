import type { ErrorObject } from 'ajv';
import { describeAjvError, type ValidationFault } from './format-errors.js';

const ALTERNATIVES = new Set(['oneOf', 'anyOf']);

function isAtOrUnder(error: ErrorObject, pointer: string): boolean {
  return error.instancePath === pointer || error.instancePath.startsWith(`${pointer}/`);
}

/**
 * Which errors are branches of a `oneOf`/`anyOf`, by the index of its summary. ajv lists a failed alternative's
 * branch errors just before its summary, all at or under its field (schemaPath cannot tell: through a $ref it
 * names the referenced schema).
 */
function branchesBySummary(errors: readonly ErrorObject[]): Map<number, number[]> {
  const branches = new Map<number, number[]>();
  errors.forEach((error, index) => {
    if (!ALTERNATIVES.has(error.keyword)) return;
    const mine: number[] = [];
    for (let i = index - 1; i >= 0 && isAtOrUnder(errors[i]!, error.instancePath); i -= 1) mine.unshift(i);
    branches.set(index, mine);
  });
  return branches;
}

/**
 * The faults of an allErrors validation, one per thing to fix: an `if` summary goes (its `then` faults say
 * more); the branches of a `oneOf`/`anyOf` become one fault at its field listing each alternative; duplicates go.
 */
export function faultsForReport(errors: readonly ErrorObject[]): ValidationFault[] {
  const branches = branchesBySummary(errors);
  const inBranch = new Set([...branches.values()].flat());
  const faults: ValidationFault[] = [];
  errors.forEach((error, index) => {
    if (error.keyword === 'if' || inBranch.has(index)) return;
    const here = describeAjvError(error);
    const options = (branches.get(index) ?? [])
      .filter((i) => !ALTERNATIVES.has(errors[i]!.keyword) && errors[i]!.keyword !== 'if')
      .map((i) => describeAjvError(errors[i]!))
      .map((branch) => (branch.path === here.path ? branch.expected : `${branch.path}: ${branch.expected}`));
    if (options.length === 0) {
      faults.push(here);
      return;
    }
    const expected = [...new Set(options)].join(', or ');
    faults.push({ path: here.path, expected, message: `${here.path}: expected ${expected}` });
  });
  const seen = new Set<string>();
  return faults.filter((fault) => {
    if (seen.has(fault.message)) return false;
    seen.add(fault.message);
    return true;
  });
}
