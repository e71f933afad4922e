import type { ErrorObject } from 'ajv';

/** `/steps/0/needs/1` -> `$.steps[0].needs[1]` (keys that are not identifiers are quoted). */
export function pointerToJsonPath(pointer: string): string {
  if (pointer === '') return '$';
  return (
    '$' +
    pointer
      .split('/')
      .slice(1)
      .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((segment) =>
        /^\d+$/.test(segment)
          ? `[${segment}]`
          : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)
            ? `.${segment}`
            : `[${JSON.stringify(segment)}]`,
      )
      .join('')
  );
}

// Pairs of fields where a schema allows one or the other (dependentSchemas + not).
const exclusivePairs: Record<string, string> = { uses: 'steps', path: 'url' };

function exclusiveFieldsMessage(schemaPath: string): string | undefined {
  const field = /dependentSchemas\/([^/]+)\/not$/.exec(schemaPath)?.[1];
  return field && exclusivePairs[field] ? `either ${field} or ${exclusivePairs[field]}, not both` : undefined;
}

export interface ValidationFault {
  path: string;
  expected: string;
  message: string;
}

/** One ajv error as the field it concerns and what was expected there. */
export function describeAjvError(error: ErrorObject): ValidationFault {
  const params = error.params as Record<string, unknown>;
  let pointer = error.instancePath;
  let expected: string;
  switch (error.keyword) {
    case 'required':
      pointer = `${pointer}/${String(params.missingProperty)}`;
      expected = 'a value (required property is missing)';
      break;
    case 'additionalProperties':
      pointer = `${pointer}/${String(params.additionalProperty)}`;
      expected = 'no such property (unknown field)';
      break;
    case 'type':
      expected = `type ${String(params.type)}`;
      break;
    case 'enum':
      expected = `one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'const':
      expected = `the value ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'pattern':
      expected = `a string matching ${String(params.pattern)}`;
      break;
    case 'format':
      expected = `a ${String(params.format)} string`;
      break;
    case 'not':
      expected = exclusiveFieldsMessage(error.schemaPath) ?? 'not to match the forbidden shape';
      break;
    default:
      expected = error.message ?? error.keyword;
  }
  const path = pointerToJsonPath(pointer);
  return { path, expected, message: `${path}: expected ${expected}` };
}
