import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** schemas/ of this package, found relative to the compiled or source file (both sit two levels below the root). */
export function schemasDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'schemas');
    try {
      if (statSync(join(candidate, 'plan.schema.json')).isFile()) return candidate;
    } catch {
      // not here; go up
    }
    dir = dirname(dir);
  }
  throw new Error('schemas/ directory not found next to the maestro-conductor package');
}

/** The version in this package's package.json (beside schemas/), as `--version` prints it. */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(dirname(schemasDirectory()), 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

export interface SchemaFile {
  /** Path relative to schemas/, which is also the schema's $id, e.g. `steps/exec.schema.json`. */
  id: string;
  schema: Record<string, unknown>;
}

export function readSchemaFiles(dir = schemasDirectory()): SchemaFile[] {
  const walk = (current: string): string[] =>
    readdirSync(current)
      .sort()
      .flatMap((name) => {
        const path = join(current, name);
        if (statSync(path).isDirectory()) return walk(path);
        return name.endsWith('.schema.json') ? [path] : [];
      });
  return walk(dir).map((path) => ({
    id: relative(dir, path).split('\\').join('/'),
    schema: JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>,
  }));
}
