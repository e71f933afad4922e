import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plan } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import { assertMatchesSchema } from '../schema/validators.js';

const MAX_PLAN_BYTES = 5 * 1024 * 1024;

/** Parses plan JSON text and checks it against schemas/plan.schema.json; errors name the file and JSON path. */
export function parsePlan(text: string, source: string): Plan {
  if (text.length > MAX_PLAN_BYTES) {
    throw new MaestroError('PLAN_INVALID', `${source}: plan is larger than ${MAX_PLAN_BYTES} bytes`, { details: { path: '$', file: source } });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MaestroError('PLAN_INVALID', `${source}: not valid JSON (${(error as Error).message})`, {
      details: { path: '$', expected: 'a JSON document', file: source },
    });
  }
  try {
    assertMatchesSchema<Plan>('plan.schema.json', parsed, 'PLAN_INVALID', `${source}: plan`);
  } catch (error) {
    if (error instanceof MaestroError) error.details.file = source;
    throw error;
  }
  return parsed;
}

/** Reads and validates a plan file. */
export function loadPlanFile(path: string): { plan: Plan; path: string } {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new MaestroError('PLAN_INVALID', `${path}: cannot read plan file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {
      details: { path: '$', file: path },
    });
  }
  return { plan: parsePlan(text, path), path: absolute };
}
