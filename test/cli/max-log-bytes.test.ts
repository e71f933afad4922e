import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO_RUN, runCli } from '../support/spawn-cli.js';

const PLAN = {
  name: 'chatty',
  steps: [
    { id: 'talk', uses: 'exec', with: { command: ['node', '-e', "process.stdout.write('y'.repeat(3000) + '\\n')"] } },
  ],
};

function workspace(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-max-log-'));
  writeFileSync(join(cwd, 'plan.json'), JSON.stringify(PLAN));
  return cwd;
}

describe('MAESTRO_MAX_LOG_BYTES', () => {
  it("is the runner's log limit per step attempt: a step logging more fails LOG_TOO_LARGE", async () => {
    const cwd = workspace();
    const tooLarge = await runCli(MAESTRO_RUN, ['plan.json', '--json'], {
      cwd,
      env: { MAESTRO_MAX_LOG_BYTES: '2000' },
    });
    expect(tooLarge.code).toBe(1);
    const result = jsonLines(tooLarge.stdout).at(-1) as {
      run: { status: string };
      steps: Array<{ error_info?: { code: string } }>;
    };
    expect(result.run.status).toBe('failed');
    expect(result.steps[0]?.error_info?.code).toBe('log_too_large');
    const fits = await runCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd, env: { MAESTRO_MAX_LOG_BYTES: '10000' } });
    expect(fits.code, fits.stderr).toBe(0);
  });

  it.each(['0', '-5', '1e6', '64MiB'])('refuses %j naming the variable, before any run', async (value) => {
    const refused = await runCli(MAESTRO_RUN, ['plan.json'], {
      cwd: workspace(),
      env: { MAESTRO_MAX_LOG_BYTES: value },
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('MAESTRO_MAX_LOG_BYTES');
    expect(refused.stderr).toContain('CONFIG_INVALID');
  });
});
