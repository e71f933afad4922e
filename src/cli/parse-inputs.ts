import { readFileSync } from 'node:fs';
import { describeJsonFileError } from '../domain/json-file-error.js';
import { MaestroError } from '../domain/errors.js';

/** `key=value` flags; a value that parses as JSON keeps its type (`n=3`, `flags=[1,2]`), anything else is a string. */
export function parseKeyValues(pairs: readonly string[], flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0)
      throw new MaestroError('INPUT_INVALID', `${flag} ${pair}: expected key=value`, {
        details: { path: flag, expected: 'key=value', got: pair },
      });
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out[key] = value;
  }
  return out;
}

/** Run inputs from `--inputs file.json` and `--input key=value` flags (flags win). */
export function readRunInputs(inputsFile: string | undefined, pairs: readonly string[]): Record<string, unknown> {
  let fromFile: Record<string, unknown> = {};
  if (inputsFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(inputsFile, 'utf8'));
    } catch (error) {
      throw new MaestroError('INPUT_INVALID', `--inputs ${inputsFile} ${describeJsonFileError(error)}`, {
        details: { path: '--inputs', expected: 'a JSON object file' },
      });
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new MaestroError('INPUT_INVALID', `--inputs ${inputsFile}: expected a JSON object`, {
        details: { path: '--inputs', expected: 'a JSON object' },
      });
    }
    fromFile = parsed as Record<string, unknown>;
  }
  return { ...fromFile, ...parseKeyValues(pairs, '--input') };
}

export function parseLabels(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(parseKeyValues(pairs, '--label')).map(([k, v]) => [
      k,
      typeof v === 'string' ? v : JSON.stringify(v),
    ]),
  );
}
