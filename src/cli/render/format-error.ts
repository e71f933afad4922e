import { toMaestroError } from '../../domain/errors.js';
import { stripControlSequences } from './terminal-text.js';

/** A human error report: code, message, then the field and what was expected there. */
export function formatError(error: unknown): string {
  const failure = toMaestroError(error);
  const lines = [`error ${failure.code}: ${failure.message}`];
  const { path, expected, file, cycle } = failure.details;
  if (typeof file === 'string') lines.push(`  file:     ${file}`);
  if (typeof path === 'string') lines.push(`  at:       ${path}`);
  if (typeof expected === 'string') lines.push(`  expected: ${expected}`);
  if (Array.isArray(cycle)) lines.push(`  cycle:    ${cycle.join(' -> ')}`);
  return `${stripControlSequences(lines.join('\n'))}\n`;
}

export function errorAsJson(error: unknown): string {
  const failure = toMaestroError(error);
  return `${JSON.stringify({ type: 'error', error: failure.toJSON() })}\n`;
}
