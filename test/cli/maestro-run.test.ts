import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO, MAESTRO_RUN, REPO_ROOT, runCli, startCli } from '../support/spawn-cli.js';

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'maestro-cli-'));
}

const plansDir = join(REPO_ROOT, 'plans');

describe('maestro-run (the real binary)', () => {
  it('runs hello.json on the embedded store and exits 0 with parseable --json output', async () => {
    const cwd = workspace();
    const result = await runCli(MAESTRO_RUN, [join(plansDir, 'hello.json'), '--json', '--input', 'who=tests'], { cwd });
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines[0]).toMatchObject({ type: 'event', event: { type: 'run.created', seq: 1 } });
    const final = lines.at(-1) as { type: string; run: { status: string; outputs: unknown } };
    expect(final).toMatchObject({
      type: 'result',
      run: { status: 'succeeded', outputs: { greeting: 'hello, tests' } },
    });
    expect(readdirSync(join(cwd, '.maestro'))).toContain('maestro.db');
  });

  it('exits 1 when the run fails, and says which step failed', async () => {
    const result = await runCli(MAESTRO_RUN, [join(plansDir, 'budget.json'), '--json'], { cwd: workspace() });
    expect(result.code).toBe(1);
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({
      type: 'result',
      run: { status: 'failed', error_info: { code: 'budget_exceeded' } },
    });
  });

  it('exits 2 for an invalid plan, printing the file, the JSON path and what was expected', async () => {
    const cwd = workspace();
    writeFileSync(
      join(cwd, 'bad.json'),
      JSON.stringify({ name: 'bad', steps: [{ id: 'a', uses: 'noop', timeout_ms: 'soon' }] }),
    );
    const result = await runCli(MAESTRO_RUN, ['bad.json'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PLAN_INVALID');
    expect(result.stderr).toContain('bad.json');
    expect(result.stderr).toContain('$.steps[0].timeout_ms');
    expect(result.stderr).toContain('expected: type integer');
  });

  it('exits 2 for invalid run inputs and stores no run', async () => {
    const cwd = workspace();
    const result = await runCli(MAESTRO_RUN, [join(plansDir, 'hello.json'), '--input', 'who=[1,2]'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('$.inputs.who');
    const list = await runCli(MAESTRO, ['runs', 'list', '--json'], { cwd });
    expect(JSON.parse(list.stdout)).toEqual({ items: [] });
  });

  it('exits 2 for an unknown flag or a missing plan', async () => {
    expect((await runCli(MAESTRO_RUN, ['--nope'], { cwd: workspace() })).code).toBe(2);
    expect((await runCli(MAESTRO_RUN, ['missing.json'], { cwd: workspace() })).code).toBe(2);
  });

  it('only creates the run with --detach, and --resume executes it later', async () => {
    const cwd = workspace();
    const detached = await runCli(MAESTRO_RUN, [join(plansDir, 'hello.json'), '--detach'], { cwd });
    expect(detached.code).toBe(0);
    // Without a TTY every output is JSON, the run id included.
    const runId = (jsonLines(detached.stdout)[0] as { run: { run_id: string } }).run.run_id;
    const pending = JSON.parse((await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd })).stdout) as {
      run: { status: string };
    };
    expect(pending.run.status).toBe('pending');
    const resumed = await runCli(MAESTRO_RUN, ['--resume', runId, '--json'], { cwd });
    expect(resumed.code).toBe(0);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ run: { run_id: runId, status: 'succeeded' } });
  });

  it.each(['hello.json', 'diamond.json', 'fan-out.json', 'budget.json', 'provenance.json'])(
    'runs the sample plan %s to the end it documents',
    async (file) => {
      const result = await runCli(MAESTRO_RUN, [join(plansDir, file), '--json'], { cwd: workspace() });
      const final = jsonLines(result.stdout).at(-1) as {
        run: { status: string; outputs?: Record<string, unknown> };
        steps: Array<{ key: string; attempt: number }>;
      };
      const expected = file === 'budget.json' ? 'failed' : 'succeeded';
      expect(final.run.status).toBe(expected);
      expect(result.code).toBe(expected === 'succeeded' ? 0 : 1);
      if (file === 'diamond.json') {
        expect(final.run.outputs).toEqual({ published: 'app-0123abc.tgz', tests: 42 });
        expect(final.steps.find((s) => s.key === 'test')?.attempt).toBe(2);
      }
      if (file === 'fan-out.json') expect(final.run.outputs).toEqual({ signed: 3 });
    },
  );
});

describe('the provenance sample plan', () => {
  it('leaves a ledger manifest, OpenLineage JSON lines and a signed attestation that maestro verify accepts', async () => {
    const cwd = workspace();
    const result = await runCli(MAESTRO_RUN, [join(plansDir, 'provenance.json'), '--json'], { cwd });
    expect(result.code).toBe(0);
    const runId = (jsonLines(result.stdout).at(-1) as { run: { run_id: string } }).run.run_id;
    const ledger = await runCli(MAESTRO, ['ledger', 'verify', join(cwd, '.maestro', 'ledger', `${runId}.json`)], {
      cwd,
    });
    expect(ledger).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: 4 entries, manifest [0-9a-f]{64}$/m) });
    const lineage = readFileSync(join(cwd, '.maestro', 'openlineage', `${runId}.jsonl`), 'utf8')
      .trim()
      .split('\n');
    expect(lineage.map((line) => (JSON.parse(line) as { eventType: string }).eventType)).toEqual([
      'START',
      'START',
      'COMPLETE',
      'START',
      'COMPLETE',
      'COMPLETE',
    ]);
    const envelope = join(cwd, '.maestro', 'attestations', `${runId}.dsse.json`);
    const key = join(cwd, '.maestro', 'keys', 'attestation-ed25519.pub.pem');
    expect(await runCli(MAESTRO, ['verify', envelope, '--key', key], { cwd })).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('2 subjects match'),
    });
    writeFileSync(join(cwd, 'out', 'disclosure', 'report.md'), 'forged');
    const forged = await runCli(MAESTRO, ['verify', envelope, '--key', key], { cwd });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain('ATTESTATION_INVALID');
  });
});

describe('maestro-run on a terminal', () => {
  it('shows the live step tree with a progress bar, and the log tail of a failed step', async () => {
    const cwd = workspace();
    writeFileSync(
      join(cwd, 'fails.json'),
      JSON.stringify({
        name: 'fails',
        steps: [
          { id: 'ok', uses: 'noop' },
          {
            id: 'broken',
            uses: 'exec',
            needs: ['ok'],
            with: { command: ['node', '-e', 'console.error("disk full on /var"); process.exit(4)'] },
          },
        ],
      }),
    );
    // `script` gives the binary a real pseudo-terminal, as a person's shell would.
    const result = spawnSync('script', ['-qec', `${process.execPath} ${MAESTRO_RUN} fails.json`, '/dev/null'], {
      cwd,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    // eslint-disable-next-line no-control-regex -- the cursor moves of the live view are what is removed
    const screen = result.stdout.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
    expect(result.status).toBe(1);
    expect(screen).toMatch(/fails {2}run \w{26} {2}failed/);
    expect(screen).toMatch(/\[#+\] 2\/2 steps/);
    expect(screen).toMatch(/✓ ok {2}succeeded/);
    expect(screen).toMatch(/✗ broken {2}failed/);
    expect(screen).toContain('| disk full on /var');
  });

  it('gives the same run for a repeated idempotency key, and exits 2 when the key is reused with other inputs', async () => {
    const cwd = workspace();
    const hello = join(plansDir, 'hello.json');
    const first = await runCli(
      MAESTRO_RUN,
      [hello, '--json', '--detach', '--idempotency-key', 'k1', '--input', 'who=a'],
      { cwd },
    );
    const again = await runCli(
      MAESTRO_RUN,
      [hello, '--json', '--detach', '--idempotency-key', 'k1', '--input', 'who=a'],
      { cwd },
    );
    expect(first.code).toBe(0);
    expect((jsonLines(again.stdout)[0] as { run: { run_id: string } }).run.run_id).toBe(
      (jsonLines(first.stdout)[0] as { run: { run_id: string } }).run.run_id,
    );
    const other = await runCli(
      MAESTRO_RUN,
      [hello, '--json', '--detach', '--idempotency-key', 'k1', '--input', 'who=b'],
      { cwd },
    );
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('IDEMPOTENCY_CONFLICT');
  });

  it('cancels the run on Ctrl-C and exits 130', async () => {
    const cwd = workspace();
    writeFileSync(join(cwd, 'wait.json'), JSON.stringify({ name: 'wait', steps: [{ id: 'approve', uses: 'manual' }] }));
    const child = startCli(MAESTRO_RUN, ['wait.json', '--json'], { cwd });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    while (!out.includes('"step.started"')) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGINT');
    const result = await child.output;
    expect(result.code).toBe(130);
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({ type: 'result', run: { status: 'cancelled' } });
  });
});
