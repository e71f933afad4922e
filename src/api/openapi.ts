import type { RouteOptions } from 'fastify';
import { readSchemaFiles } from '../schema/schema-files.js';

type Schema = Record<string, unknown>;

/** `run.schema.json` -> `run`, `api/start-run.schema.json` -> `api.start-run`: component names. */
function componentName(schemaId: string): string {
  return schemaId.replace(/\.schema\.json$/, '').replace(/\//g, '.');
}

/** Rewrites file `$ref`s (relative to the schema that holds them) to component refs. */
function rewriteRefs(value: unknown, baseId: string): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, baseId));
  if (!value || typeof value !== 'object') return value;
  const out: Schema = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$ref' && typeof inner === 'string') {
      const [file, pointer = ''] = inner.split('#');
      const baseDir = baseId.includes('/') ? baseId.slice(0, baseId.lastIndexOf('/') + 1) : '';
      const target = file ? new URL(file, `file:///${baseDir}`).pathname.slice(1) : baseId;
      out.$ref = `#/components/schemas/${componentName(target)}${pointer}`;
    } else if (key !== '$id' && key !== '$schema') {
      out[key] = rewriteRefs(inner, baseId);
    }
  }
  return out;
}

export interface DocumentedRoute {
  method: string;
  url: string;
  schema: Schema;
}

/** OpenAPI 3.1 (whose schemas are JSON Schema 2020-12) built from the routes' schemas and schemas/. */
export function buildOpenApi(routes: readonly DocumentedRoute[], info: { title: string; version: string }): Schema {
  const schemas: Schema = {};
  for (const file of readSchemaFiles()) schemas[componentName(file.id)] = rewriteRefs(file.schema, file.id);
  const paths: Record<string, Schema> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const { body, querystring, params, response, summary, tags, security } = route.schema as Record<
      string,
      Schema | undefined
    >;
    const parameters: Schema[] = [];
    for (const [where, schema] of [
      ['path', params],
      ['query', querystring],
    ] as const) {
      if (!schema) continue;
      const resolved = typeof schema.$ref === 'string' ? (schemas[componentName(schema.$ref)] as Schema) : schema;
      const required = new Set((resolved.required as string[] | undefined) ?? []);
      for (const [name, property] of Object.entries(
        (resolved.properties as Record<string, Schema> | undefined) ?? {},
      )) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || required.has(name),
          schema: rewriteRefs(property, ''),
        });
      }
    }
    const responses: Schema = {};
    for (const [status, schema] of Object.entries((response as Record<string, Schema> | undefined) ?? {})) {
      const isProblem = Number(status) >= 400;
      // A route answering other than JSON (a log's text) says so with its schema's contentMediaType.
      const contentType = isProblem
        ? 'application/problem+json'
        : typeof schema.contentMediaType === 'string'
          ? schema.contentMediaType
          : 'application/json';
      responses[status] = {
        description: isProblem ? 'Problem' : 'OK',
        content: {
          [contentType]: {
            schema:
              typeof schema.$ref === 'string'
                ? { $ref: `#/components/schemas/${componentName(schema.$ref)}` }
                : rewriteRefs(schema, ''),
          },
        },
      };
    }
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      ...(summary ? { summary } : {}),
      ...(tags ? { tags } : {}),
      operationId: `${route.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: { $ref: `#/components/schemas/${componentName(String(body.$ref))}` } },
              },
            },
          }
        : {}),
      responses,
      ...(security ? { security } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info,
    // No jsonSchemaDialect: left out, it is OpenAPI 3.1's base dialect (JSON Schema 2020-12 and OpenAPI's keywords),
    // which is what these schemas are; Swagger UI warns on any other value, even plain 2020-12.
    paths,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
  };
}

export function documentedRoute(route: RouteOptions): DocumentedRoute | undefined {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const method = methods.find((m) => m !== 'HEAD');
  if (!method || !route.schema || (route.schema as Schema).hide) return undefined;
  return { method, url: route.url, schema: route.schema as Schema };
}
