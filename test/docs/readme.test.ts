import { execFileSync, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO_RUN, REPO_ROOT, runCli } from '../support/spawn-cli.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

function tableFields(marker: string): string[] {
  const section = readme.split(`<!-- ${marker}:start -->`)[1]!.split(`<!-- ${marker}:end -->`)[0]!;
  return [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!).sort();
}

function schemaFields(pointer: (schema: any) => Record<string, unknown>): string[] {
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'plan.schema.json'), 'utf8'));
  return Object.keys(pointer(schema))
    .filter((k) => k !== '$schema')
    .sort();
}

describe('README', () => {
  it('documents exactly the plan fields of schemas/plan.schema.json', () => {
    expect(tableFields('plan-fields')).toEqual(schemaFields((s) => s.properties));
  });

  it('documents exactly the step fields of schemas/plan.schema.json', () => {
    expect(tableFields('step-fields')).toEqual(schemaFields((s) => s.$defs.step.properties));
  });

  it('names only files that are in the repository', () => {
    const linked = [...readme.matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
    const mentioned = [
      ...readme.matchAll(/\b((?:plans|examples|schemas|bench|migrations|scripts|docs)\/[\w./-]+\.\w+)/g),
    ].map((m) => m[1]!);
    const missing = [...new Set([...linked, ...mentioned])].filter((path) => !existsSync(join(REPO_ROOT, path)));
    expect(missing).toEqual([]);
    expect(linked.length + mentioned.length).toBeGreaterThan(10);
  });

  it('runs the inputs-file example as written', async () => {
    const line = readme.split('\n').find((l) => l.startsWith('maestro-run plans/fan-out.json --inputs '))!;
    // Paths in the README are relative to the repository; the run gets a workspace of its own.
    const args = line
      .split('#')[0]!
      .trim()
      .split(/ +/)
      .slice(1)
      .map((arg) => (existsSync(join(REPO_ROOT, arg)) ? join(REPO_ROOT, arg) : arg));
    const result = await runCli(MAESTRO_RUN, [...args, '--json'], {
      cwd: mkdtempSync(join(tmpdir(), 'maestro-readme-')),
    });
    expect(result.code).toBe(0);
    const inputs = JSON.parse(readFileSync(join(REPO_ROOT, 'examples', 'inputs.json'), 'utf8')) as unknown;
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({ type: 'result', run: { status: 'succeeded', inputs } });
  });

  it('quick start works on a fresh copy of the repository (with the installed node_modules)', () => {
    const quickStart = readme.split('## Quick start')[1]!.split('```bash')[1]!.split('```')[0]!.trim().split('\n');
    expect(quickStart).toEqual(['npm install && npx maestro-run plans/hello.json', 'npm test']);
    const copy = mkdtempSync(join(tmpdir(), 'maestro-fresh-'));
    const tracked = execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const file of tracked) cpSync(join(REPO_ROOT, file), join(copy, file), { recursive: true });
    // A real copy: npm replaces a symlinked node_modules, and must find nothing to fetch (CI is offline but for registries).
    cpSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    // The first command, as written (npm install runs the build); `npm test` is what is running this test.
    const output = execSync(
      `${quickStart[0]!.replace('npm install', 'npm install --offline --no-audit --no-fund')} --json`,
      { cwd: copy, encoding: 'utf8', timeout: 120_000, env: { ...process.env, MONGOMS_DISABLE_POSTINSTALL: '1' } },
    );
    const result = JSON.parse(output.trim().split('\n').at(-1)!);
    expect(result).toMatchObject({
      type: 'result',
      run: { status: 'succeeded', outputs: { greeting: 'hello, world' } },
    });
  }, 150_000);
});
