import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO, MAESTRO_RUN, REPO_ROOT, runCli, startCli } from '../support/spawn-cli.js';

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'maestro-edges-'));
}

describe('maestro runs cancel', () => {
  it('of a run already cancelled exits 0 and says so; of a run that succeeded it still refuses', async () => {
    const cwd = workspace();
    writeFileSync(join(cwd, 'wait.json'), JSON.stringify({ name: 'wait', steps: [{ id: 'ok', uses: 'manual' }] }));
    const started = await runCli(MAESTRO_RUN, ['wait.json', '--detach', '--json'], { cwd });
    const runId = (jsonLines(started.stdout)[0] as { run: { run_id: string } }).run.run_id;

    const first = await runCli(MAESTRO, ['runs', 'cancel', runId], { cwd });
    expect(first).toMatchObject({ code: 0, stdout: `${runId} cancelled\n` });
    const again = await runCli(MAESTRO, ['runs', 'cancel', runId], { cwd });
    expect(again).toMatchObject({ code: 0, stdout: `${runId} already cancelled\n`, stderr: '' });
    const againJson = await runCli(MAESTRO, ['runs', 'cancel', runId, '--json'], { cwd });
    expect(againJson.code).toBe(0);
    expect(JSON.parse(againJson.stdout)).toMatchObject({ run_id: runId, status: 'cancelled' });

    const done = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'hello.json'), '--json'], { cwd });
    const doneId = (jsonLines(done.stdout).at(-1) as { run: { run_id: string } }).run.run_id;
    const refused = await runCli(MAESTRO, ['runs', 'cancel', doneId], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('already ended succeeded');
  });
});

describe('maestro runs logs', () => {
  it('says a step wrote no log, instead of calling its log file out of the workspace', async () => {
    const cwd = workspace();
    const done = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'hello.json'), '--json'], { cwd });
    const runId = (jsonLines(done.stdout).at(-1) as { run: { run_id: string } }).run.run_id;
    const logs = await runCli(MAESTRO, ['runs', 'logs', runId], { cwd });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('hello, world');
    expect(logs.stdout).not.toContain('not under this workspace');
    expect(logs.stdout).toMatch(/==> echo \(attempt 1\).*\n\(no log: the step wrote nothing\)\n/);
  });
});

describe('maestro-run --resume of a run whose runner died', () => {
  it('says on stderr which runner holds the run and until when it waits, then finishes the run', async () => {
    const cwd = workspace();
    const env = { MAESTRO_LEASE_MS: '3000' };
    writeFileSync(
      join(cwd, 'slow.json'),
      JSON.stringify({ name: 'slow', steps: [{ id: 'nap', uses: 'sleep', with: { ms: 5_000 } }] }),
    );
    const first = startCli(MAESTRO_RUN, ['slow.json', '--json'], { cwd, env });
    let out = '';
    first.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    for (let i = 0; i < 300 && !out.includes('"step.started"'); i += 1) await sleep(50);
    expect(out).toContain('"step.started"');
    const runId = (jsonLines(out.split('\n')[0]!)[0] as { event: { run_id: string } }).event.run_id;
    first.kill('SIGKILL');
    await first.output;

    const resumed = await runCli(MAESTRO_RUN, ['--resume', runId, '--json'], {
      cwd,
      env,
      timeoutMs: 60_000,
    });
    const said = /run (\S+) is held by runner (\S+) until (\S+): waiting/.exec(resumed.stderr);
    expect(said, resumed.stderr).not.toBeNull();
    expect(said![1]).toBe(runId);
    expect(Number.isNaN(Date.parse(said![3]!))).toBe(false);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ type: 'result', run: { status: 'succeeded' } });
  }, 90_000);
});
