import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO, MAESTRO_RUN, REPO_ROOT, runCli, startServe } from '../support/spawn-cli.js';

const plansDir = join(REPO_ROOT, 'plans');

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'maestro-admin-'));
}

describe('maestro (the real binary)', () => {
  it('prints the diamond plan as Mermaid and as DOT', async () => {
    const mermaid = await runCli(MAESTRO, ['graph', join(plansDir, 'diamond.json')], { cwd: workspace() });
    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toBe(
      [
        'flowchart TD',
        '  fetch["fetch (noop)"]',
        '  build["build (exec)"]',
        '  test["test (exec)"]',
        '  publish["publish (noop)"]',
        '  fetch --> build',
        '  fetch --> test',
        '  build --> publish',
        '  test --> publish',
        '',
      ].join('\n'),
    );
    const dot = await runCli(MAESTRO, ['graph', join(plansDir, 'diamond.json'), '--format', 'dot'], {
      cwd: workspace(),
    });
    expect(dot.stdout).toContain('digraph "diamond" {');
    expect(dot.stdout).toContain('"build" -> "publish";');
  });

  it('validates plans, naming the cycle of a cyclic one with exit 2', async () => {
    const cwd = workspace();
    expect(
      (await runCli(MAESTRO, ['validate', join(plansDir, 'hello.json'), join(plansDir, 'diamond.json')], { cwd })).code,
    ).toBe(0);
    writeFileSync(
      join(cwd, 'cycle.json'),
      JSON.stringify({
        name: 'cycle',
        steps: [
          { id: 'a', uses: 'noop', needs: ['b'] },
          { id: 'b', uses: 'noop', needs: ['a'] },
        ],
      }),
    );
    const result = await runCli(MAESTRO, ['validate', 'cycle.json'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cycle:    a -> b -> a');
    expect(result.stderr).toContain('cycle.json');
  });

  it('filters runs list by status, owner, plan and created date range', async () => {
    const cwd = workspace();
    await runCli(MAESTRO_RUN, [join(plansDir, 'hello.json'), '--owner', 'team-a'], { cwd });
    await runCli(MAESTRO_RUN, [join(plansDir, 'budget.json'), '--owner', 'team-a'], { cwd });
    await runCli(MAESTRO_RUN, [join(plansDir, 'hello.json'), '--owner', 'team-b'], { cwd });
    const list = async (...flags: string[]) =>
      (
        JSON.parse((await runCli(MAESTRO, ['runs', 'list', '--json', ...flags], { cwd })).stdout) as {
          items: Array<{ plan_name: string; owner: string; status: string; plan_id: string }>;
        }
      ).items;
    expect(await list()).toHaveLength(3);
    expect((await list('--status', 'failed')).map((r) => r.plan_name)).toEqual(['budget']);
    expect((await list('--owner', 'team-a')).map((r) => r.plan_name)).toEqual(['budget', 'hello']);
    const helloPlanId = (await list('--owner', 'team-b'))[0]!.plan_id;
    expect((await list('--plan-id', helloPlanId)).map((r) => r.owner)).toEqual(['team-b']);
    expect(await list('--created-after', new Date(Date.now() + 60_000).toISOString())).toEqual([]);
    expect(await list('--created-before', '2000-01-01T00:00:00Z')).toEqual([]);
    const table = await runCli(MAESTRO, ['runs', 'list', '--status', 'succeeded'], { cwd });
    expect(table.stdout.split('\n')[0]).toMatch(/^RUN_ID\s+PLAN\s+STATUS\s+OWNER\s+CREATED\s+COST$/);
    expect(table.stdout.trim().split('\n')).toHaveLength(3);
    const bad = await runCli(MAESTRO, ['runs', 'list', '--status', 'exploded'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('$.status');
  });

  it('reports a manual step from outside and attaches an artifact', async () => {
    const cwd = workspace();
    writeFileSync(
      join(cwd, 'approval.json'),
      JSON.stringify({ name: 'approval', steps: [{ id: 'approve', uses: 'manual' }] }),
    );
    writeFileSync(join(cwd, 'notes.txt'), 'approved by alice');
    const runId = (await runCli(MAESTRO, ['runs', 'start', 'approval.json'], { cwd })).stdout.split(' ')[0]!;
    const updated = await runCli(
      MAESTRO,
      ['steps', 'update', runId, 'approve', '--status', 'succeeded', '--outputs', '{"by":"alice"}'],
      { cwd },
    );
    expect(updated.code).toBe(0);
    const attached = await runCli(
      MAESTRO,
      ['artifacts', 'attach', runId, 'notes.txt', '--type', 'document', '--json'],
      { cwd },
    );
    expect(JSON.parse(attached.stdout)).toMatchObject({
      name: 'notes.txt',
      size_bytes: 17,
      digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const shown = JSON.parse((await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd })).stdout) as {
      run: { status: string };
      steps: Array<{ outputs: unknown }>;
      artifacts: unknown[];
    };
    expect(shown.run.status).toBe('succeeded');
    expect(shown.steps[0]!.outputs).toEqual({ by: 'alice' });
    expect(shown.artifacts).toHaveLength(1);
    const illegal = await runCli(MAESTRO, ['steps', 'update', runId, 'approve', '--status', 'running'], { cwd });
    expect(illegal.code).toBe(2);
    expect(illegal.stderr).toContain('STEP_ILLEGAL_TRANSITION');
  });

  it('prints a shell completion script', async () => {
    const result = await runCli(MAESTRO, ['completion'], { cwd: workspace() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('maestro');
    expect(result.stdout).toContain('complete');
  });
});

describe('maestro with hostile files and output', () => {
  it('loads a plan file saved with a UTF-8 byte order mark', async () => {
    const cwd = workspace();
    writeFileSync(
      join(cwd, 'bom.json'),
      `\uFEFF${JSON.stringify({ name: 'bom', steps: [{ id: 'a', uses: 'noop' }] })}`,
    );
    const result = await runCli(MAESTRO, ['validate', 'bom.json'], { cwd });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('reports a malformed tokens file without quoting it (it holds tokens)', async () => {
    const cwd = workspace();
    writeFileSync(join(cwd, 'tokens.json'), '{"tokens": [{"token": "leaky-token-0123456789abcdef", oops}]}');
    const result = await runCli(MAESTRO, ['serve', '--port', '0', '--tokens', 'tokens.json', '--store', 'memory://'], {
      cwd,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not valid JSON');
    expect(result.stderr).not.toContain('leaky-token');
  });

  it('exits with STORE_CORRUPT, instead of hanging, when the embedded store file cannot be read', async () => {
    const cwd = workspace();
    mkdirSync(join(cwd, '.maestro'), { recursive: true });
    writeFileSync(join(cwd, '.maestro', 'maestro.db'), 'not a database\n{still not\n'.repeat(100));
    const result = await runCli(MAESTRO, ['runs', 'list'], { cwd, timeoutMs: 20_000 });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('STORE_CORRUPT');
    expect(result.stderr).toContain(join(cwd, '.maestro', 'maestro.db'));
  });

  it("never sends a step's terminal escape sequences to the operator's terminal", async () => {
    const cwd = workspace();
    const evil = "process.stdout.write('\\u001b]0;owned\\u0007\\u001b[2J\\u001b[31mred\\n'); process.exit(1)";
    writeFileSync(
      join(cwd, 'evil.json'),
      JSON.stringify({ name: 'evil', steps: [{ id: 'e', uses: 'exec', with: { command: ['node', '-e', evil] } }] }),
    );
    const run = await runCli(MAESTRO_RUN, ['evil.json', '--json'], { cwd });
    expect(run.code).toBe(1);
    const runId = (jsonLines(run.stdout).at(-1) as { run: { run_id: string } }).run.run_id;
    const logs = await runCli(MAESTRO, ['runs', 'logs', runId], { cwd });
    expect(logs.stdout).toContain('red');
    expect(logs.stdout).not.toContain('\u001b');
    expect(logs.stdout).not.toContain('\u0007');
  });
});

describe('maestro serve (the real binary)', () => {
  it('serves on loopback, answers health, and drains and exits 0 on SIGTERM', async () => {
    const cwd = workspace();
    writeFileSync(
      join(cwd, 'tokens.json'),
      JSON.stringify({ tokens: [{ token: 'serve-test-token-0123456789', owner: 'team-a', role: 'runner' }] }),
    );
    const { server, url } = await startServe(['--tokens', 'tokens.json', '--store', 'memory://'], { cwd });
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(
      (await fetch(`${url}/v1/runs`, { headers: { authorization: 'Bearer serve-test-token-0123456789' } })).status,
    ).toBe(200);
    // The console is served from the package, with its own page and bundle.
    const page = await fetch(`${url}/console/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('src="/console/console.js"');
    expect((await fetch(`${url}/console/console.js`)).headers.get('content-type')).toContain('javascript');
    server.kill('SIGTERM');
    const result = await server.output;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('draining requests and closing the store');
    expect(result.stderr).not.toContain('serve-test-token');
  });

  it('starts with --no-runner, --no-ui and a tokens file of hashes, and logs requests without a token sent in the query string', async () => {
    const cwd = workspace();
    const token = 'hashed-only-token-0123456789';
    writeFileSync(
      join(cwd, 'tokens.json'),
      JSON.stringify({
        tokens: [{ token_sha256: createHash('sha256').update(token).digest('hex'), owner: 'team-a', role: 'reader' }],
      }),
    );
    const { server, url } = await startServe(
      ['--tokens', 'tokens.json', '--store', 'memory://', '--no-runner', '--no-ui', '--log'],
      { cwd },
    );
    expect((await fetch(`${url}/v1/runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${url}/v1/runs?access_token=${token}`)).status).toBeGreaterThanOrEqual(400);
    // --no-ui: the API only.
    expect((await fetch(`${url}/console/`)).status).toBe(404);
    server.kill('SIGTERM');
    const result = await server.output;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('access_token=***');
    expect(result.stdout + result.stderr).not.toContain(token);
  });

  it('refuses to start without a tokens file', async () => {
    const result = await runCli(MAESTRO, ['serve', '--store', 'memory://'], {
      cwd: workspace(),
      env: { MAESTRO_TOKENS_FILE: '' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('CONFIG_INVALID');
  });
});
