#!/usr/bin/env node
// Generates src/generated/schemas.ts from schemas/ with json-schema-to-typescript.
// `--check` writes nothing and exits 1 when the committed file differs (the staleness test uses it).
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemasDir = join(root, 'schemas');
const target = join(root, 'src', 'generated', 'schemas.ts');

function listSchemaFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return listSchemaFiles(path);
      return name.endsWith('.schema.json') ? [relative(schemasDir, path)] : [];
    });
}

export async function generateTypes() {
  const files = listSchemaFiles(schemasDir);
  // One synthetic root that references every schema, so each titled schema becomes exactly one declaration.
  const rootSchema = {
    title: 'MaestroSchemas',
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(files.map((file) => [file, { $ref: file }])),
  };
  const banner =
    '/* eslint-disable */\n/**\n * Generated from schemas/ by `npm run gen:types` (json-schema-to-typescript).\n * Do not edit by hand: change the schema and regenerate.\n */';
  return compile(rootSchema, 'MaestroSchemas', {
    cwd: schemasDir,
    bannerComment: banner,
    additionalProperties: true,
    ignoreMinAndMaxItems: true,
    unknownAny: true,
    strictIndexSignatures: false,
    style: { singleQuote: true, printWidth: 120 },
  });
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const output = await generateTypes();
  if (process.argv.includes('--check')) {
    const current = readFileSync(target, 'utf8');
    if (current !== output) {
      console.error('src/generated/schemas.ts is stale: run `npm run gen:types`');
      process.exit(1);
    }
    console.log('src/generated/schemas.ts is up to date');
  } else {
    writeFileSync(target, output);
    console.log(`wrote ${relative(root, target)}`);
  }
}
