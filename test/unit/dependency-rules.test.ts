import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/spawn-cli.js';

const SRC = join(REPO_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every import of a source file: package names, or paths relative to src/ for local files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((match) => {
    const specifier = match[1]!;
    return specifier.startsWith('.')
      ? relative(SRC, resolve(dirname(file), specifier)).replace(/\.js$/, '.ts')
      : specifier;
  });
}

// The dependency direction of STYLE.md: adapters and front ends point inward, never the reverse.
const rules: Array<{ from: RegExp; forbidden: RegExp; why: string }> = [
  {
    from: /^engine\//,
    forbidden: /^(api|cli)\/|^store\/(mongo|nedb)\/|^store\/open|^(fastify|yargs|mongodb|@seald-io\/nedb)$/,
    why: 'the engine uses the store port only, never a front end or a driver',
  },
  {
    from: /^(plan|domain|schema|generated)\//,
    forbidden: /^(engine|api|cli|store|hooks|events)\//,
    why: 'plan, domain and schema are inner layers',
  },
  {
    from: /^events\//,
    forbidden: /^(engine|api|cli|hooks)\/|^store\/(mongo|nedb)\//,
    why: 'events know the store port and the hook API only',
  },
  {
    from: /^hooks\//,
    forbidden: /^(api|cli)\/|^engine\/(?!file-digest)|^store\/(mongo|nedb)\//,
    why: 'a hook never reaches into engine internals',
  },
  {
    from: /^api\//,
    forbidden: /^cli\/|^store\/(mongo|nedb)\//,
    why: 'the API goes through the engine and store/open, never an adapter',
  },
  {
    from: /^cli\//,
    forbidden: /^api\/(?!server)|^store\/(nedb)\//,
    why: 'the CLI uses the engine, store/open and the API server entry',
  },
  { from: /^store\/(?!mongo\/|open)/, forbidden: /^store\/mongo\//, why: 'only store/open knows the MongoDB adapter' },
  { from: /^store\/(?!nedb\/|open)/, forbidden: /^store\/nedb\//, why: 'only store/open knows the NeDB adapter' },
];

describe('dependency direction', () => {
  it('holds for every import in src/', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = relative(SRC, file);
      for (const imported of importsOf(file)) {
        for (const rule of rules) {
          if (rule.from.test(from) && rule.forbidden.test(imported))
            violations.push(`${from} imports ${imported}: ${rule.why}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('finds imports (the check is not vacuous)', () => {
    expect(importsOf(join(SRC, 'engine', 'engine.ts'))).toContain('store/port.ts');
  });
});
