import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/generated/schemas.js';
import { onlyKinds } from '../../../src/engine/trust/kind-policy.js';
import { isBubblewrapAvailable } from '../../../src/engine/executors/exec-sandbox.js';
import { openStore } from '../../../src/store/open.js';
import { startTestApi, TOKENS } from '../../support/api-server.js';
import { unavailable } from '../../support/backends.js';
import { createHarness } from '../../support/engine-harness.js';
import { MAESTRO, MAESTRO_RUN, runCli, startServe } from '../../support/spawn-cli.js';
import { recordHostile, workspace } from './hostile-support.js';

const execPlan: Plan = {
  name: 'grab',
  steps: [{ id: 'grab', uses: 'exec', with: { command: ['cat', '/etc/hostname'] } }],
};
const shellPlan: Plan = {
  name: 'sh',
  steps: [{ id: 'sh', uses: 'exec', with: { command: ['echo hi'], shell: true } }],
};

describe('hostile: who may run what where', () => {
  it('refuses API-submitted exec and shell plans by default (403 naming the step and kind) and allows them only when configured', async () => {
    const store = await openStore('memory://');
    const closed = await startTestApi(store);
    const open = await startTestApi(store, { submitKinds: onlyKinds(['exec', 'noop']) });
    try {
      const attempts = [
        await closed.request('POST', '/v1/plans', { body: { plan: execPlan } }),
        await closed.request('POST', '/v1/plans', { body: { plan: shellPlan } }),
        await closed.request('POST', '/v1/plans', { body: { plan: execPlan }, token: TOKENS.admin }),
      ];
      for (const response of attempts) {
        expect(response.status).toBe(403);
        expect(response.body).toMatchObject({ code: 'KIND_FORBIDDEN' });
      }
      expect(attempts[0]!.body.field ?? attempts[0]!.body.detail).toContain('$.plan.steps[0].uses');
      expect((await store.listPlans({}, { limit: 10 })).items).toEqual([]);
      // Allowing exec is not allowing a shell: that is a separate choice.
      const noShell = await open.request('POST', '/v1/plans', { body: { plan: shellPlan } });
      expect(noShell).toMatchObject({ status: 403, body: { code: 'KIND_FORBIDDEN' } });
      expect(noShell.body.detail).toContain('shell');
      attempts.push(noShell);
      const allowed = await open.request('POST', '/v1/plans', { body: { plan: execPlan } });
      expect(allowed.status).toBe(201);
      recordHostile('API-submitted exec', {
        attempts: attempts.length + 1,
        refused: attempts.filter((r) => r.status === 403).length,
        server_errors: attempts.filter((r) => r.status >= 500).length,
        crashes: 0,
      });
    } finally {
      await closed.close();
      await open.close();
      await store.close();
    }
  });

  it('a runner that does not allow a kind fails the step with KIND_FORBIDDEN instead of running it', async () => {
    const store = await openStore('memory://');
    const h = createHarness(store, { allowKinds: onlyKinds(['noop']) });
    try {
      const { run, steps } = await h.runPlan({
        name: 'forbidden',
        steps: [{ id: 'x', uses: 'exec', with: { command: ['touch', 'made'] } }],
      });
      expect(run.status).toBe('failed');
      expect(steps.x).toMatchObject({ status: 'failed', attempt: 1, error_info: { code: 'kind_forbidden' } });
      expect(existsSync(join(h.workspace, 'made'))).toBe(false);
    } finally {
      h.engine.close();
      await store.close();
    }
  });

  it.skipIf(unavailable(isBubblewrapAvailable()))(
    'an exec step run by the server cannot read the tokens file, the store or the keys',
    async () => {
      if (!isBubblewrapAvailable()) throw new Error('bwrap (bubblewrap) is not installed: .ci/run installs it');
      const cwd = workspace('sandbox');
      const token = `admin-${createHash('sha256').update(cwd).digest('hex').slice(0, 24)}`;
      const tokensFile = join(cwd, 'tokens.json');
      writeFileSync(tokensFile, JSON.stringify({ tokens: [{ token, owner: 'ops', role: 'admin' }] }));
      mkdirSync(join(cwd, '.maestro', 'keys'), { recursive: true });
      writeFileSync(join(cwd, '.maestro', 'keys', 'attestation-ed25519.pem'), 'PRIVATE-KEY-CANARY');
      const { server, url: base } = await startServe(
        ['--tokens', tokensFile, '--allow-kinds', 'all', '--store', 'sqlite://.maestro/maestro.db'],
        { cwd, env: { MAESTRO_POLL_MS: '50' }, timeoutMs: 60_000 },
      );
      const reader = `const fs = require('fs'); const out = {};
for (const p of process.argv.slice(1)) { try { out[p] = fs.readdirSync(p).length ? 'dir:' + fs.readdirSync(p).join(',') : 'dir:'; } catch { try { out[p] = fs.readFileSync(p, 'utf8').slice(0, 200); } catch (e) { out[p] = 'ERR ' + e.code; } } }
console.log(JSON.stringify({ seen: JSON.stringify(out) }));`;
      const targets = [
        tokensFile,
        join(cwd, '.maestro', 'maestro.db'),
        join(cwd, '.maestro', 'maestro.db-wal'),
        join(cwd, '.maestro', 'keys', 'attestation-ed25519.pem'),
        '/proc/1/environ',
      ];
      try {
        const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const plan = (await (
          await fetch(`${base}/v1/plans`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({
              plan: {
                name: 'snoop',
                steps: [{ id: 'snoop', uses: 'exec', with: { command: ['node', '-e', reader, ...targets] } }],
              },
            }),
          })
        ).json()) as { plan: { plan_id: string } };
        const started = (await (
          await fetch(`${base}/v1/runs`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ plan_id: plan.plan.plan_id, execute: true }),
          })
        ).json()) as { run_id: string };
        let detail:
          | {
              run: { status: string };
              steps: Array<{ status: string; outputs?: { seen?: string }; logs_ref?: string }>;
            }
          | undefined;
        for (let i = 0; i < 100; i += 1) {
          detail = (await (
            await fetch(`${base}/v1/runs/${started.run_id}`, { headers: auth })
          ).json()) as typeof detail;
          if (detail && ['succeeded', 'failed'].includes(detail.run.status)) break;
          await sleep(100);
        }
        expect(detail?.run.status).toBe('succeeded');
        const seen = JSON.parse(detail!.steps[0]!.outputs!.seen!) as Record<string, string>;
        const log = readFileSync(detail!.steps[0]!.logs_ref!, 'utf8');
        const leaked = [token, 'PRIVATE-KEY-CANARY', 'SQLite format', '"run_id"'].filter(
          (secret) => JSON.stringify(seen).includes(secret) || log.includes(secret),
        );
        recordHostile('step reading runner secrets', {
          attempts: targets.length,
          refused: targets.length - leaked.length,
          server_errors: 0,
          crashes: server.exitCode === null ? 0 : 1,
        });
        expect(leaked).toEqual([]);
        expect(seen[join(cwd, '.maestro', 'maestro.db')]).not.toContain('SQLite');
      } finally {
        server.kill('SIGTERM');
        await server.output;
      }
    },
  );

  it('shell: true passes inputs as positional arguments, so an input of $(touch pwned) creates nothing', async () => {
    const cwd = workspace('shell');
    writeFileSync(
      join(cwd, 'plan.json'),
      JSON.stringify({
        name: 'shell',
        inputs: { type: 'object', properties: { name: { type: 'string' } } },
        steps: [
          {
            id: 'greet',
            uses: 'exec',
            with: { shell: true, command: ['echo "hello $1"; printf %s "$1" > said.txt', '${{ inputs.name }}'] },
          },
        ],
      }),
    );
    const hostile = ['$(touch pwned)', '`touch pwned2`', '"; touch pwned3; "', "'; touch pwned4; '"];
    let refused = 0;
    const mangled: string[] = [];
    for (const name of hostile) {
      // From a file: --input would read a JSON-looking value as JSON.
      writeFileSync(join(cwd, 'inputs.json'), JSON.stringify({ name }));
      const result = await runCli(MAESTRO_RUN, ['plan.json', '--json', '--inputs', 'inputs.json'], { cwd });
      expect(result.code).toBe(0);
      const said = readFileSync(join(cwd, 'said.txt'), 'utf8');
      if (said === name) refused += 1;
      else mangled.push(`${name} -> ${said}`);
    }
    // An expression inside the script itself is refused before anything runs.
    writeFileSync(
      join(cwd, 'spliced.json'),
      JSON.stringify({
        name: 'spliced',
        steps: [{ id: 'x', uses: 'exec', with: { shell: true, command: ['echo ${{ inputs.name }}'] } }],
      }),
    );
    const spliced = await runCli(MAESTRO, ['validate', 'spliced.json'], { cwd });
    const created = ['pwned', 'pwned2', 'pwned3', 'pwned4'].filter((file) => existsSync(join(cwd, file)));
    recordHostile('shell injection', {
      attempts: hostile.length + 1,
      refused: refused + (spliced.code === 2 ? 1 : 0),
      server_errors: 0,
      crashes: 0,
    });
    expect(created).toEqual([]);
    expect(mangled).toEqual([]);
    expect(spliced.code).toBe(2);
    expect(spliced.stderr).toContain('$.steps[0].with.command[0]');
  });
});
