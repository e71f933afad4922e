import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO_RUN, runCli } from '../support/spawn-cli.js';

const PLAN = {
  name: 'big-artifact',
  steps: [{ id: 'produce', uses: 'noop', artifacts: [{ type: 'dataset', path: 'out/rows.csv', name: 'rows' }] }],
};

function workspaceWithFile(bytes: number): string {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-max-artifact-'));
  mkdirSync(join(cwd, 'out'));
  writeFileSync(join(cwd, 'out/rows.csv'), 'x'.repeat(bytes));
  writeFileSync(join(cwd, 'plan.json'), JSON.stringify(PLAN));
  return cwd;
}

describe('MAESTRO_MAX_ARTIFACT_BYTES', () => {
  it("is the runner's maximum artifact size: a larger declared file fails the step ARTIFACT_TOO_LARGE", async () => {
    const cwd = workspaceWithFile(2048);
    const tooLarge = await runCli(MAESTRO_RUN, ['plan.json', '--json'], {
      cwd,
      env: { MAESTRO_MAX_ARTIFACT_BYTES: '2047' },
    });
    expect(tooLarge.code).toBe(1);
    const result = jsonLines(tooLarge.stdout).at(-1) as { run: { status: string; error_info?: { message: string } } };
    expect(result.run.status).toBe('failed');
    expect(tooLarge.stdout).toContain('artifact_too_large');
    const fits = await runCli(MAESTRO_RUN, ['plan.json', '--json'], {
      cwd,
      env: { MAESTRO_MAX_ARTIFACT_BYTES: '2048' },
    });
    expect(fits.code, fits.stderr).toBe(0);
  });

  it.each(['0', '-5', '1e6', '10MB', ' '])('refuses %j naming the variable, before any run', async (value) => {
    const cwd = workspaceWithFile(10);
    const refused = await runCli(MAESTRO_RUN, ['plan.json'], { cwd, env: { MAESTRO_MAX_ARTIFACT_BYTES: value } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('MAESTRO_MAX_ARTIFACT_BYTES');
    expect(refused.stderr).toContain('CONFIG_INVALID');
  });
});
