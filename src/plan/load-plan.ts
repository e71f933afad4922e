import { readFileSync } from 'node:fs';
import { describeJsonFileError } from '../domain/json-file-error.js';
import { resolve } from 'node:path';
import type { Plan } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import { assertMatchesSchema } from '../schema/validators.js';
import { assertJsonWithin } from '../domain/json-limits.js';

const MAX_PLAN_BYTES = 4 * 1024 * 1024;
/** Steps nest 16 deep, each level a few JSON levels, plus `with` values of their own. */
export const MAX_PLAN_DEPTH = 96;

/**
 * Refuses a plan nested deeper than MAX_PLAN_DEPTH as PLAN_INVALID naming where, before any schema check: the
 * plan schema is recursive (groups), and a validator that follows it level by level runs out of stack on a plan
 * nested thousands deep.
 */
export function assertPlanDepth(value: unknown, path: string): void {
  assertJsonWithin(value, { maxDepth: MAX_PLAN_DEPTH, maxBytes: MAX_PLAN_BYTES }, path, 'PLAN_INVALID');
}

/**
 * Parses plan JSON text within the size and depth bounds, not yet checked against the schema; errors name the
 * file and JSON path.
 */
export function parsePlanJson(text: string, source: string): unknown {
  if (text.length > MAX_PLAN_BYTES) {
    throw new MaestroError('PLAN_INVALID', `${source}: plan is larger than ${MAX_PLAN_BYTES} bytes`, {
      details: { path: '$', file: source },
    });
  }
  let parsed: unknown;
  try {
    // Editors on Windows save UTF-8 with a byte order mark; JSON.parse would refuse it.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new MaestroError('PLAN_INVALID', `${source} ${describeJsonFileError(error)}`, {
      details: { path: '$', expected: 'a JSON document', file: source },
    });
  }
  try {
    assertPlanDepth(parsed, '$');
  } catch (error) {
    if (error instanceof MaestroError) error.details.file = source;
    throw error;
  }
  return parsed;
}

/** Parses plan JSON text and checks it against schemas/plan.schema.json; errors name the file and JSON path. */
export function parsePlan(text: string, source: string): Plan {
  const parsed = parsePlanJson(text, source);
  try {
    assertMatchesSchema<Plan>('plan.schema.json', parsed, 'PLAN_INVALID', `${source}: plan`);
  } catch (error) {
    if (error instanceof MaestroError) error.details.file = source;
    throw error;
  }
  return parsed;
}

/** Reads a plan file's text; a file that cannot be read is PLAN_INVALID naming it. */
export function readPlanText(path: string): string {
  try {
    return readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new MaestroError(
      'PLAN_INVALID',
      `${path}: cannot read plan file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      {
        details: { path: '$', file: path },
      },
    );
  }
}

/** Reads and validates a plan file. */
export function loadPlanFile(path: string): { plan: Plan; path: string } {
  return { plan: parsePlan(readPlanText(path), path), path: resolve(path) };
}
