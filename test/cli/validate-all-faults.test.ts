import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAESTRO, runCli } from '../support/spawn-cli.js';

function workspace(files: Record<string, unknown>): string {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-validate-all-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(cwd, name), JSON.stringify(content, null, 2));
  return cwd;
}

/** The `at:` lines of the text report, in the order printed. */
function reportedPaths(stderr: string): string[] {
  return [...stderr.matchAll(/^ {2}at: +(\S.*)$/gm)].map((match) => match[1]!);
}

// Six faults in different places; the schema lists name before steps and checks unknown fields first, so an
// order taken from the validator would put $.extra and $.name first.
const faulty = {
  steps: [
    { id: 'a', uses: 'noop', timeout_ms: 0 },
    { id: 'b', uses: 'noop', needs: 'a' },
    { id: 'c', uses: 'noop', colour: 'red' },
    { id: 'd', steps: [{ id: 'e', uses: 'Bad Kind' }] },
  ],
  name: 'Not Lower',
  extra: true,
};
const inFileOrder = [
  '$.steps[0].timeout_ms',
  '$.steps[1].needs',
  '$.steps[2].colour',
  '$.steps[3].steps[0].uses',
  '$.name',
  '$.extra',
];

describe('maestro validate reports every fault of a file, in file order', () => {
  it('lists each fault with its JSON path and what was expected, and exits 2', async () => {
    const cwd = workspace({ 'faulty.json': faulty, 'good.json': { name: 'good', steps: [{ id: 'a', uses: 'noop' }] } });
    const result = await runCli(MAESTRO, ['validate', 'faulty.json', 'good.json'], { cwd, timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(reportedPaths(result.stderr)).toEqual(inFileOrder);
    expect(result.stderr).toContain('PLAN_INVALID');
    expect(result.stderr).toContain('faulty.json: 6 faults');
    expect(result.stderr).toContain('expected: type array');
    expect(result.stderr).toContain('expected: no such property (unknown field)');
    // The other file is still checked.
    expect(result.stdout).toContain('ok good.json');
  }, 40_000);

  it('--json gives each file its faults in file order', async () => {
    const cwd = workspace({ 'faulty.json': faulty, 'good.json': { name: 'good', steps: [{ id: 'a', uses: 'noop' }] } });
    const result = await runCli(MAESTRO, ['validate', 'faulty.json', 'good.json', '--json'], {
      cwd,
      timeoutMs: 30_000,
    });
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(report).toHaveLength(2);
    expect(report[0]).toMatchObject({ file: 'faulty.json', valid: false, faults_total: 6, faults_cut: 0 });
    const faults = report[0]!.faults as Array<{ path: string; expected: string; message: string }>;
    expect(faults.map((f) => f.path)).toEqual(inFileOrder);
    expect(faults[1]).toMatchObject({ path: '$.steps[1].needs', expected: 'type array' });
    expect(report[1]).toMatchObject({ file: 'good.json', valid: true, name: 'good', steps: 1 });
  }, 40_000);

  it('lists at most 20 faults and says how many more were cut', async () => {
    const steps = Array.from({ length: 25 }, (_, i) => ({ id: `s${i}`, uses: 'noop', [`bogus${i}`]: 1 }));
    const cwd = workspace({ 'many.json': { name: 'many', steps } });
    const result = await runCli(MAESTRO, ['validate', 'many.json'], { cwd, timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(reportedPaths(result.stderr)).toEqual(Array.from({ length: 20 }, (_, i) => `$.steps[${i}].bogus${i}`));
    expect(result.stderr).toContain('many.json: 25 faults');
    expect(result.stderr).toContain('5 more faults not listed');
  }, 40_000);

  it('reports a compile fault (unknown needs) of a plan the schema accepts', async () => {
    const cwd = workspace({
      'needs.json': {
        name: 'needs',
        steps: [
          { id: 'a', uses: 'noop' },
          { id: 'b', uses: 'noop', needs: ['zz'] },
        ],
      },
    });
    const result = await runCli(MAESTRO, ['validate', 'needs.json'], { cwd, timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    expect(reportedPaths(result.stderr)).toEqual(['$.steps[1].needs[0]']);
    expect(result.stderr).toContain('unknown step "zz"');
  }, 40_000);

  it('reports every compile fault of a plan the schema accepts, in file order', async () => {
    const cwd = workspace({
      'graph.json': {
        name: 'graph',
        outputs: { x: '${{ steps.nowhere.outputs.y }}' },
        steps: [
          { id: 'a', uses: 'teleport' },
          { id: 'b', uses: 'noop', needs: ['zz'] },
          { id: 'a', uses: 'noop' },
          { id: 'c', uses: 'noop', needs: ['d'] },
          { id: 'd', uses: 'noop', needs: ['c'] },
          { id: 'e', uses: 'noop', if: '${{ steps.ghost.outputs.ok }}' },
        ],
      },
    });
    const result = await runCli(MAESTRO, ['validate', 'graph.json'], { cwd, timeoutMs: 30_000 });
    expect(result.code).toBe(2);
    // The cycle among c and d is looked for only once every need names a sibling: b's does not.
    expect(reportedPaths(result.stderr)).toEqual([
      '$.outputs.x',
      '$.steps[0].uses',
      '$.steps[1].needs[0]',
      '$.steps[2].id',
      '$.steps[5].if',
    ]);
    const fixed = workspace({
      'graph.json': {
        name: 'graph',
        steps: [
          { id: 'c', uses: 'noop', needs: ['d'] },
          { id: 'd', uses: 'noop', needs: ['c'] },
        ],
      },
    });
    const cycle = await runCli(MAESTRO, ['validate', 'graph.json'], { cwd: fixed, timeoutMs: 30_000 });
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toContain('dependency cycle');
  }, 60_000);
});
