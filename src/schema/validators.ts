import Ajv2020Module, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorCode } from '../domain/error-codes.js';
import { MaestroError } from '../domain/errors.js';
import { describeAjvError, type ValidationFault } from './format-errors.js';
import { faultsForReport } from './report-faults.js';
import { linearRegExp } from './linear-patterns.js';
import { assertBoundedSchema } from './schema-expansion.js';
import { readSchemaFiles } from './schema-files.js';

// ajv and ajv-formats are CommonJS; their default export sits one level down under NodeNext.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

export type SchemaId = string;

let ajvInstance: InstanceType<typeof Ajv2020> | undefined;
let coercingInstance: InstanceType<typeof Ajv2020> | undefined;
let reportingInstance: InstanceType<typeof Ajv2020> | undefined;
const compiled = new Map<string, ValidateFunction>();

/**
 * An ajv instance with every schema of schemas/ added. No allErrors and no $data: untrusted input must not make
 * validation expensive (allErrors only for the local `maestro validate` report, see reportingAjv).
 */
function buildAjv(options: {
  coerceTypes: boolean;
  useDefaults: boolean;
  allErrors?: boolean;
}): InstanceType<typeof Ajv2020> {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: false, ...options });
  addFormats(ajv);
  for (const file of readSchemaFiles()) ajv.addSchema(file.schema, file.id);
  return ajv;
}

/** The shared ajv instance, built on first use (never at import time). */
export function sharedAjv(): InstanceType<typeof Ajv2020> {
  ajvInstance ??= buildAjv({ coerceTypes: false, useDefaults: false });
  return ajvInstance;
}

/**
 * For query strings and path params: every value arrives as a string and is coerced to the scalar type its
 * schema names (`limit=5` -> 5). Arrays and objects are never coerced into scalars, so `a=1&a=2` is refused.
 */
export function coercingAjv(): InstanceType<typeof Ajv2020> {
  coercingInstance ??= buildAjv({ coerceTypes: true, useDefaults: true });
  return coercingInstance;
}

/**
 * With allErrors, for `maestro validate` only: a user checking their own file on their own machine, after the
 * depth guard. Never for the API, maestro-run or anything else that reads untrusted input.
 */
function reportingAjv(): InstanceType<typeof Ajv2020> {
  reportingInstance ??= buildAjv({ coerceTypes: false, useDefaults: false, allErrors: true });
  return reportingInstance;
}

/** The compiled validator of one schema file, compiled once. */
export function validatorFor(schemaId: SchemaId): ValidateFunction {
  let validate = compiled.get(schemaId);
  if (!validate) {
    validate = sharedAjv().getSchema(schemaId);
    if (!validate) throw new Error(`no schema ${schemaId} in schemas/`);
    compiled.set(schemaId, validate);
  }
  return validate;
}

/** The first fault of `value` against the schema, or undefined when it is valid. */
export function findSchemaFault(schemaId: SchemaId, value: unknown): ValidationFault | undefined {
  const validate = validatorFor(schemaId);
  if (validate(value)) return undefined;
  const [first] = validate.errors ?? [];
  return first ? describeAjvError(first) : { path: '$', expected: 'a valid value', message: '$: invalid' };
}

/** Every fault of `value` against the schema, as `maestro validate` reports them (empty when valid). */
export function findSchemaFaultsForReport(schemaId: SchemaId, value: unknown): ValidationFault[] {
  const validate = reportingAjv().getSchema(schemaId);
  if (!validate) throw new Error(`no schema ${schemaId} in schemas/`);
  if (validate(value)) return [];
  const faults = faultsForReport(validate.errors ?? []);
  return faults.length > 0 ? faults : [{ path: '$', expected: 'a valid value', message: '$: invalid' }];
}

/** Throws a MaestroError with `code` naming the JSON path and what was expected there. */
export function assertMatchesSchema<T>(
  schemaId: SchemaId,
  value: unknown,
  code: ErrorCode,
  what: string,
): asserts value is T {
  const fault = findSchemaFault(schemaId, value);
  if (fault) {
    throw new MaestroError(code, `${what} is invalid at ${fault.path}: expected ${fault.expected}`, {
      details: { path: fault.path, expected: fault.expected, schema: schemaId },
    });
  }
}

let userSchemaAjv: InstanceType<typeof Ajv2020> | undefined;

/** Compiles a user-supplied JSON Schema (a plan's `inputs`), reporting a schema that does not compile as PLAN_INVALID. */
export function compileUserSchema(schema: object, path: string): ValidateFunction {
  // Users write their own schemas: unknown keywords are tolerated, their ids never clash with ours, and
  // `default`s fill missing inputs as workflow users expect. Their patterns run in linear time.
  userSchemaAjv ??= addFormats(
    new Ajv2020({ strict: false, allErrors: false, useDefaults: true, code: { regExp: linearRegExp } }),
  );
  const { $id: _ignoredId, ...withoutId } = schema as Record<string, unknown>;
  // Before ajv: what its validator would do with a recursive or multiplying schema is exponential in the input.
  assertBoundedSchema(withoutId, path);
  try {
    return userSchemaAjv.compile(withoutId);
  } catch (error) {
    throw new MaestroError('PLAN_INVALID', `${path} is not a valid JSON Schema: ${(error as Error).message}`, {
      details: { path, expected: 'a JSON Schema (draft 2020-12)' },
    });
  }
}
