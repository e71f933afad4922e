import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MAESTRO, MAESTRO_RUN, REPO_ROOT, runCli, startCli } from '../support/spawn-cli.js';

const SLOW_PLAN = join(REPO_ROOT, 'plans', 'slow.json');

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'maestro-watch-'));
}

/** Starts `maestro-run plans/slow.json` and resolves with its run id once its `work` step is running. */
async function startSlowRun(cwd: string, ticks: number) {
  const writer = startCli(MAESTRO_RUN, [SLOW_PLAN, '--json', '--input', `ticks=${ticks}`], { cwd });
  let out = '';
  writer.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const started = out
      .split('\n')
      .filter((line) => line.includes('"step.started"'))
      .map((line) => JSON.parse(line) as { event: { run_id: string; data: { key?: string } } })
      .find((line) => line.event.data.key === 'work');
    if (started) return { writer, runId: started.event.run_id };
    if (Date.now() > deadline || writer.exitCode !== null) throw new Error(`slow run did not start its step: ${out}`);
    await sleep(20);
  }
}

describe('using the embedded store while a run is running on it', () => {
  it('runs show, runs list and runs start work from other processes while maestro-run is running', async () => {
    const cwd = workspace();
    const { writer, runId } = await startSlowRun(cwd, 50);
    const shown = await runCli(MAESTRO, ['runs', 'show', runId], { cwd });
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/prepare +succeeded/);
    expect(shown.stdout).toMatch(/work +running/);
    expect(shown.stdout).toMatch(/report +pending/);
    const listed = await runCli(MAESTRO, ['runs', 'list', '--json'], { cwd });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ items: [{ run_id: runId, status: 'running' }] });
    // Another writer works beside it: every process writes the SQLite file, one short transaction at a time.
    const writing = await runCli(MAESTRO, ['runs', 'start', SLOW_PLAN, '--json'], { cwd });
    expect(writing.code, writing.stderr).toBe(0);
    const started = (JSON.parse(writing.stdout) as { run: { run_id: string } }).run.run_id;
    expect(started).not.toBe(runId);
    expect((await writer.output).code).toBe(0);
    // Both writers' work is in the store: the run ended, and the run started beside it is there.
    const after = await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd });
    expect(JSON.parse(after.stdout)).toMatchObject({ run: { status: 'succeeded' } });
    const other = await runCli(MAESTRO, ['runs', 'show', started, '--json'], { cwd });
    expect(other.code, other.stderr).toBe(0);
  });

  it('runs logs -f prints a running exec step line by line as it writes them, and exits when the attempt ends', async () => {
    const cwd = workspace();
    // A line every 200 ms for 8 s: long enough that the follower (a CLI cold start) joins while lines still come.
    const ticks = 40;
    const { writer, runId } = await startSlowRun(cwd, ticks);
    const follower = startCli(MAESTRO, ['runs', 'logs', runId, '--step', 'work', '-f'], { cwd });
    const arrivals = new Map<number, number>();
    let buffered = '';
    follower.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const match of buffered.matchAll(/tick (\d+) of/g)) {
        if (!arrivals.has(Number(match[1]))) arrivals.set(Number(match[1]), Date.now());
      }
    });
    const followed = await follower.output;
    const exitedAt = Date.now();
    expect(followed.stderr).toBe('');
    expect(followed.code).toBe(0);
    expect([...arrivals.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: ticks }, (_, i) => i + 1));
    expect(followed.stdout).toContain(`{"ticks":${ticks}}`);
    // Followed, not read once at the end: the last line came well after the first one it printed.
    const times = [...arrivals.values()];
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(600);
    // It ended with the attempt: by then the step is recorded as ended.
    const shown = await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd });
    const steps = (JSON.parse(shown.stdout) as { steps: Array<{ key: string; ended_at?: string }> }).steps;
    expect(Date.parse(steps.find((s) => s.key === 'work')!.ended_at!)).toBeLessThanOrEqual(exitedAt);
    expect((await writer.output).code).toBe(0);
  });
});

describe('the live terminal view', () => {
  it('moves the elapsed time of a running step between events', async () => {
    const cwd = workspace();
    // `script` gives the binary a real pseudo-terminal; each chunk of the screen is kept with when it arrived.
    const child = spawn(
      'script',
      ['-qec', `${process.execPath} ${MAESTRO_RUN} ${SLOW_PLAN} --input ticks=25`, '/dev/null'],
      { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const frames: Array<{ at: number; elapsed: string }> = [];
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      // Each redraw prints the step line anew; the newest complete one is this moment's frame.
      const lines = [...screen.matchAll(/▶ work {2}running {2}([0-9.]+m?s)\r?\n/g)];
      const newest = lines.at(-1)?.[1];
      if (newest && newest !== frames.at(-1)?.elapsed) frames.push({ at: Date.now(), elapsed: newest });
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    // The step prints no event for about 4 s: frames still come, with its clock moving.
    const first = frames[0]!;
    const later = frames.find((frame) => frame.at - first.at >= 1500);
    expect(later, `frames: ${JSON.stringify(frames)}`).toBeDefined();
    expect(later!.elapsed).not.toBe(first.elapsed);
  });
});
