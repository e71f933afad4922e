import { MaestroError } from '../domain/errors.js';

/** A count flag (`--max-attempts 4`): a whole number from 1, refused naming the flag otherwise. */
export function positiveCount(value: number, flag: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new MaestroError('INPUT_INVALID', `${flag} must be a whole number of at least 1`, {
      details: { path: flag, got: value, expected: 'an integer >= 1' },
    });
  return value;
}
