import { readSchemaFiles } from '../../schema/schema-files.js';

type Schema = Record<string, unknown>;

const bsonTypeOf: Record<string, string | string[]> = {
  string: 'string',
  integer: ['int', 'long'],
  number: ['double', 'int', 'long', 'decimal'],
  boolean: 'bool',
  object: 'object',
  array: 'array',
  null: 'null',
};

// $jsonSchema knows a subset of JSON Schema (draft 4 with bsonType); these are dropped rather than rejected.
const unsupported = new Set([
  '$schema',
  '$id',
  '$defs',
  'format',
  'default',
  'examples',
  'const',
  'propertyNames',
  'if',
  'then',
  'else',
  'dependentSchemas',
  '$comment',
]);
const MAX_DEPTH = 6;

/**
 * The MongoDB `$jsonSchema` of one of our schema files, derived from it (one source of truth):
 * `$ref`s are inlined, date-time strings become BSON dates, JSON types become bsonTypes. Recursive
 * parts (the plan's nested steps) are cut to `object` at a depth: ajv validates those in full before writing.
 */
export function mongoJsonSchema(schemaId: string): Schema {
  const files = new Map(readSchemaFiles().map((file) => [file.id, file.schema]));
  const root = files.get(schemaId);
  if (!root) throw new Error(`no schema ${schemaId}`);

  const resolve = (ref: string, baseId: string): { schema: Schema; id: string } => {
    const [filePart, pointer = ''] = ref.split('#');
    const baseDir = baseId.includes('/') ? baseId.slice(0, baseId.lastIndexOf('/') + 1) : '';
    const id = filePart ? new URL(filePart, `file:///${baseDir}`).pathname.slice(1) : baseId;
    let target = files.get(id) as unknown;
    for (const segment of pointer.split('/').filter(Boolean)) target = (target as Schema)[segment];
    if (!target) throw new Error(`unresolved $ref ${ref} in ${baseId}`);
    return { schema: target as Schema, id };
  };

  // underArray: an array inside an array is stored as an object (see stored-form.ts), so it may be either there.
  const convert = (schema: Schema, baseId: string, depth: number, underArray = false): Schema => {
    if (typeof schema.$ref === 'string') {
      if (depth > MAX_DEPTH) return { bsonType: 'object' };
      const { schema: target, id } = resolve(schema.$ref, baseId);
      return convert(target, id, depth + 1, underArray);
    }
    const out: Schema = {};
    for (const [key, value] of Object.entries(schema)) {
      if (unsupported.has(key) || key === 'title') continue;
      if (key === 'type') {
        const types = Array.isArray(value) ? (value as string[]) : [value as string];
        const isDate = schema.format === 'date-time';
        out.bsonType = isDate ? 'date' : types.flatMap((type) => bsonTypeOf[type] ?? type);
        if (underArray && types.includes('array') && !types.includes('object'))
          out.bsonType = [...(out.bsonType as string[]), 'object'];
        if (Array.isArray(out.bsonType) && out.bsonType.length === 1) out.bsonType = out.bsonType[0];
      } else if (key === 'properties') {
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, Schema>).map(([name, sub]) => [
            name,
            convert(sub, baseId, depth + 1, underArray),
          ]),
        );
      } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
        const inner = underArray || key === 'items';
        out[key] =
          typeof value === 'object' && value !== null ? convert(value as Schema, baseId, depth + 1, inner) : value;
      } else if (key === 'oneOf' || key === 'anyOf' || key === 'allOf') {
        out[key] = (value as Schema[]).map((sub) => convert(sub, baseId, depth + 1, underArray));
      } else {
        out[key] = value;
      }
    }
    if ('const' in schema) out.enum = [schema.const];
    return out;
  };

  const converted = convert(root, schemaId, 0);
  // Every stored document carries the store's own _id.
  converted.properties = { _id: {}, ...(converted.properties as Schema) };
  return converted;
}
