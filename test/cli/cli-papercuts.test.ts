import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAESTRO, MAESTRO_RUN, REPO_ROOT, runCli } from '../support/spawn-cli.js';

const plansDir = join(REPO_ROOT, 'plans');
const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'maestro-papercuts-'));
}

/** The rows of a `runs show` table, by step key. */
function stepRows(stdout: string): Map<string, string> {
  return new Map(
    stdout
      .split('\n')
      .filter((line) => /^\S+ +(succeeded|failed|skipped|cancelled|running|pending) /.test(line))
      .map((line) => [line.split(/ +/)[0]!, line]),
  );
}

describe('CLI help, version and naming', () => {
  it('maestro-run --help exits 0 with nothing on stderr; --version prints the version on both binaries', async () => {
    const cwd = workspace();
    const help = await runCli(MAESTRO_RUN, ['--help'], { cwd });
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('maestro-run [plan.json]');
    for (const bin of [MAESTRO_RUN, MAESTRO]) {
      const printed = await runCli(bin, ['--version'], { cwd });
      expect(printed).toMatchObject({ code: 0, stderr: '', stdout: `${version}\n` });
    }
    // Still an error: no plan and no --resume.
    expect((await runCli(MAESTRO_RUN, [], { cwd })).code).toBe(2);
  });

  it('plans show takes a plan name and the 12-character version plans list prints', async () => {
    const cwd = workspace();
    await runCli(MAESTRO, ['plans', 'apply', join(plansDir, 'hello.json')], { cwd });
    const listed = await runCli(MAESTRO, ['plans', 'list'], { cwd });
    const short = listed.stdout.split('\n')[1]!.split(/ +/)[3]!;
    expect(short).toMatch(/^[0-9a-f]{12}$/);
    const shown = await runCli(MAESTRO, ['plans', 'show', 'hello', '--version', short], { cwd });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'hello', version: expect.stringMatching(`^${short}`) });
    const unknown = await runCli(MAESTRO, ['plans', 'show', 'hello', '--version', 'ffffffffffff'], { cwd });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('PLAN_NOT_FOUND');
    const noPlan = await runCli(MAESTRO, ['plans', 'show', 'no-such-plan'], { cwd });
    expect(noPlan.stderr).toContain('no plan with id or name no-such-plan');
  });
});

describe('runs show', () => {
  it("prints no earlier attempt's error beside a step that then succeeded", async () => {
    const cwd = workspace();
    await runCli(MAESTRO_RUN, [join(plansDir, 'diamond.json')], { cwd });
    const runId = (
      JSON.parse((await runCli(MAESTRO, ['runs', 'list', '--json'], { cwd })).stdout) as {
        items: Array<{ run_id: string }>;
      }
    ).items[0]!.run_id;
    const shown = await runCli(MAESTRO, ['runs', 'show', runId], { cwd });
    const test = stepRows(shown.stdout).get('test')!;
    expect(test).toMatch(/^test +succeeded +2 +exec/);
    expect(test).not.toMatch(/exit|failed|error/i);
    expect(shown.stdout).toMatch(/^STEP +STATUS +ATTEMPT +USES +TIME +NOTE$/m);
  });

  it('marks the steps a rerun reused and shows the child run of a plan step', async () => {
    const cwd = workspace();
    await runCli(MAESTRO_RUN, [join(plansDir, 'fan-out.json')], { cwd });
    const first = (
      JSON.parse((await runCli(MAESTRO, ['runs', 'list', '--json'], { cwd })).stdout) as {
        items: Array<{ run_id: string; parent_run_id?: string }>;
      }
    ).items.find((run) => !run.parent_run_id)!.run_id;
    const rerun = await runCli(MAESTRO, ['runs', 'rerun', first, '--from', 'summary', '--execute'], { cwd });
    expect(rerun.code).toBe(0);
    const rerunId = rerun.stdout.split(' ')[0]!;
    const rows = stepRows((await runCli(MAESTRO, ['runs', 'show', rerunId], { cwd })).stdout);
    expect(rows.get('per-image')).toContain('reused from the earlier run');
    expect(rows.get('summary')).toMatch(/child run [0-9A-Z]{26}/);
  });
});
