import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../support/source-files.js';
import { REPO_ROOT } from '../support/spawn-cli.js';

const SRC = join(REPO_ROOT, 'src');

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

// The dependency direction of STYLE.md: adapters and front ends point inward, never the reverse. No rule has an
// exception: where code sat on the wrong side of a rule, it moved.
const rules: Array<{ from: RegExp; forbidden: RegExp; why: string }> = [
  {
    from: /^engine\//,
    forbidden:
      /^(api|cli|hooks|observability)\/|^store\/(mongo|sqlite)\/|^store\/open|^maestro-engine|^(fastify|yargs|mongodb|better-sqlite3|sift|prom-client)$|^@opentelemetry\/(sdk-|exporter-|resources|core|context-)/,
    why: 'the engine uses the store port, the hook API and the OpenTelemetry API only: no front end, driver, built-in hook or telemetry SDK',
  },
  {
    from: /^engine\/[^/]+\//,
    forbidden: /^engine\/engine\.ts$/,
    why: "the engine's folders are its parts: they get what they need through engine-services, never the facade",
  },
  {
    from: /^(plan|domain|schema|generated)\//,
    forbidden: /^(engine|api|cli|store|hooks|events)\//,
    why: 'plan, domain and schema are inner layers',
  },
  {
    from: /^events\//,
    forbidden: /^(engine|api|cli|hooks)\/|^store\/(mongo|sqlite)\//,
    why: 'events know the store port and the hook API only',
  },
  {
    from: /^hooks\//,
    forbidden: /^(api|cli|engine)\/|^store\/(mongo|sqlite)\//,
    why: 'a hook sees runs through the hook API, never engine internals',
  },
  {
    from: /^api\//,
    forbidden: /^cli\/|^store\/(mongo|sqlite)\//,
    why: 'the API goes through the engine and store/open, never an adapter',
  },
  {
    from: /^cli\//,
    forbidden: /^store\/(mongo|sqlite)\//,
    why: 'the CLI reaches stores (and their migrations) through store/open',
  },
];

// From outside its folder, a layer is imported through its entry files only, as a package through its exports.
// Inside store/, only open.ts knows the adapters.
const entries: Array<{ folder: string; files: string[] }> = [
  { folder: 'api/', files: ['api/server.ts'] },
  { folder: 'store/', files: ['store/port.ts', 'store/open.ts', 'store/list-runs-query.ts'] },
  { folder: 'store/mongo/', files: [] },
  { folder: 'store/sqlite/', files: [] },
];
const adapterImporters = new Set(['store/open.ts']);

function entryViolation(from: string, imported: string): string | undefined {
  for (const { folder, files } of entries) {
    if (!imported.startsWith(folder) || from.startsWith(folder) || files.includes(imported)) continue;
    if (folder !== 'store/' && adapterImporters.has(from)) continue;
    return `${from} imports ${imported}: outside ${folder}, only ${files.join(', ') || 'store/open.ts'} may be imported`;
  }
  return undefined;
}

describe('dependency direction', () => {
  it('holds for every import in src/', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC, /\.ts$/)) {
      const from = relative(SRC, file);
      for (const imported of importsOf(file)) {
        for (const rule of rules) {
          if (rule.from.test(from) && rule.forbidden.test(imported))
            violations.push(`${from} imports ${imported}: ${rule.why}`);
        }
        const outsideEntry = entryViolation(from, imported);
        if (outsideEntry) violations.push(outsideEntry);
      }
    }
    expect(violations).toEqual([]);
  });

  it('finds imports (the check is not vacuous)', () => {
    expect(importsOf(join(SRC, 'engine', 'engine.ts'))).toContain('store/port.ts');
  });

  it('would refuse the imports it exists to refuse', () => {
    const refused = (from: string, imported: string) =>
      rules.some((rule) => rule.from.test(from) && rule.forbidden.test(imported)) ||
      entryViolation(from, imported) !== undefined;
    expect(refused('hooks/attestation/verify-attestation.ts', 'engine/file-digest.ts')).toBe(true);
    expect(refused('cli/commands/migrate-command.ts', 'store/mongo/mongo-migrations.ts')).toBe(true);
    expect(refused('engine/engine.ts', 'hooks/builtin-hooks.ts')).toBe(true);
    expect(refused('engine/run-loop/run-driver.ts', 'engine/engine.ts')).toBe(true);
    expect(refused('engine/engine.ts', 'engine/run-loop/run-driver.ts')).toBe(false);
    expect(refused('store/document-run-store.ts', 'store/sqlite/sqlite-driver.ts')).toBe(true);
    expect(refused('cli/commands/serve-command.ts', 'api/routes/run-routes.ts')).toBe(true);
    expect(refused('cli/commands/serve-command.ts', 'api/server.ts')).toBe(false);
    expect(refused('store/open.ts', 'store/mongo/mongo-driver.ts')).toBe(false);
  });
});
