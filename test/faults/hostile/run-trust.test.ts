import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Plan, RunDocument, StepDocument } from '../../../src/generated/schemas.js';
import { openStore } from '../../../src/store/open.js';
import { dropMongoDatabase, unavailable } from '../../support/backends.js';
import { MAESTRO, startCli, startServe } from '../../support/spawn-cli.js';
import { hostileStores, recordHostile, workspace } from './hostile-support.js';

const stores = hostileStores();

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** A tokens file with one runner token (the attacker's), in the workspace as operators often keep it. */
function writeTokens(cwd: string, token: string): string {
  const path = join(cwd, 'tokens.json');
  writeFileSync(path, JSON.stringify({ tokens: [{ token, owner: 'team', role: 'runner' }] }));
  return path;
}

async function api(base: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Every run of a tree (root first) with its steps, read from the store beside the processes using it. */
async function runTree(storeUrl: string, rootId: string): Promise<Array<{ run: RunDocument; steps: StepDocument[] }>> {
  const store = await openStore(storeUrl);
  try {
    const tree: Array<{ run: RunDocument; steps: StepDocument[] }> = [];
    const queue = [rootId];
    while (queue.length > 0) {
      const detail = await store.getRunDetail(queue.shift()!);
      if (!detail) continue;
      tree.push({ run: detail.run, steps: detail.steps });
      const children = await store.listRuns({ parent_run_id: detail.run.run_id }, { limit: 50 });
      queue.push(...children.items.map((child) => child.run_id));
    }
    return tree;
  } finally {
    await store.close();
  }
}

/** Waits until the run has ended (bounded); undefined when it did not. */
async function ended(storeUrl: string, runId: string, boundMs: number): Promise<RunDocument | undefined> {
  const until = Date.now() + boundMs;
  while (Date.now() < until) {
    const store = await openStore(storeUrl);
    try {
      const run = await store.getRun(runId);
      if (run && TERMINAL.includes(run.status)) return run;
    } finally {
      await store.close();
    }
    await sleep(200);
  }
  return undefined;
}

describe.each(stores)('hostile: a run keeps the kinds of its origin on $name', ({ name, available, url }) => {
  it.skipIf(unavailable(available))(
    'an API plan whose child and grandchild plans have exec never runs them on a worker that allows all kinds',
    async () => {
      const cwd = workspace('run-kinds');
      const storeUrl = url(cwd);
      const token = `team-runner-${Math.random().toString(36).slice(2)}-0123456789`;
      writeTokens(cwd, token);
      mkdirSync(join(cwd, 'plans'));
      // The child plan: a file in the workspace with an exec step that leaves a marker and takes the tokens file.
      const grab = `const fs = require('fs'); fs.writeFileSync(process.argv[1], 'ran');
let stolen = ''; try { stolen = fs.readFileSync('tokens.json', 'utf8'); } catch (e) { stolen = String(e.code); }
console.log(JSON.stringify({ stolen }));`;
      writeFileSync(
        join(cwd, 'plans', 'grab.json'),
        JSON.stringify({
          name: 'grab',
          inputs: { type: 'object', properties: { marker: { type: 'string' } } },
          steps: [{ id: 'grab', uses: 'exec', with: { command: ['node', '-e', grab, '${{ inputs.marker }}'] } }],
          outputs: { stolen: '${{ steps.grab.outputs.stolen }}' },
        }),
      );
      writeFileSync(
        join(cwd, 'plans', 'shell.json'),
        JSON.stringify({
          name: 'shell',
          steps: [{ id: 'sh', uses: 'exec', with: { shell: true, command: ['echo ran > marker-shell'] } }],
        }),
      );
      // A grandchild: the exec is two plan steps away from what the API saw.
      writeFileSync(
        join(cwd, 'plans', 'nest.json'),
        JSON.stringify({
          name: 'nest',
          steps: [
            {
              id: 'inner',
              uses: 'plan',
              continue_on_error: true,
              with: { plan: 'grab.json', inputs: { marker: 'marker-grandchild' } },
            },
            { id: 'inner-shell', uses: 'plan', continue_on_error: true, with: { plan: 'shell.json' } },
          ],
        }),
      );
      const trojan: Plan = {
        name: 'trojan',
        steps: [
          {
            id: 'child',
            uses: 'plan',
            continue_on_error: true,
            with: { plan: 'plans/grab.json', inputs: { marker: 'marker-child' } },
          },
          { id: 'grandchild', uses: 'plan', continue_on_error: true, with: { plan: 'plans/nest.json' } },
        ],
      };
      // The test's MongoDB servers need no credentials: the worker is told it may run next to them.
      const env = { MAESTRO_POLL_MS: '50', MAESTRO_LOG_LEVEL: 'warn', MAESTRO_ALLOW_OPEN_STORE: '1' };
      const statuses: number[] = [];
      let crashes = 0;
      let hangs = 0;
      let worker: ReturnType<typeof startCli> | undefined;
      const startWorker = () =>
        startCli(MAESTRO, ['worker', '--allow-kinds', 'all', '--store', storeUrl], { cwd, env, timeoutMs: 90_000 });
      try {
        const { server, url: base } = await startServe(
          ['--no-runner', '--tokens', 'tokens.json', '--store', storeUrl],
          {
            cwd,
            env,
            timeoutMs: 90_000,
          },
        );
        let runId: string;
        try {
          // The worker runs beside the server on the same store, as in production.
          worker = startWorker();
          const plan = await api(base, token, 'POST', '/v1/plans', { plan: trojan });
          statuses.push(plan.status);
          expect(plan.status).toBe(201);
          const run = await api(base, token, 'POST', '/v1/runs', { plan_id: plan.body.plan.plan_id });
          statuses.push(run.status);
          expect(run.status).toBe(201);
          runId = run.body.run_id as string;
        } finally {
          server.kill('SIGTERM');
          if ((await server.output).code !== 0) crashes += 1;
        }
        const end = await ended(storeUrl, runId, 60_000);
        if (!end) hangs += 1;
        worker.kill('SIGTERM');
        const workerEnd = await worker.output;
        if (workerEnd.code !== 0) crashes += 1;
        const tree = await runTree(storeUrl, runId);
        const execSteps = tree.flatMap(({ steps }) => steps.filter((step) => step.uses === 'exec'));
        const markers = readdirSync(cwd).filter((file) => file.startsWith('marker-'));
        const leaked = JSON.stringify(tree).includes(token);
        const refused = execSteps.filter((step) => step.error_info?.code === 'kind_forbidden');
        recordHostile(`API kinds through child runs on a worker (${name})`, {
          attempts: 3,
          refused: markers.length === 0 && !leaked ? refused.length : 0,
          server_errors: statuses.filter((status) => status >= 500).length,
          crashes,
          hangs,
        });
        expect(crashes, `worker: ${workerEnd.stderr.slice(-2000)}`).toBe(0);
        expect(markers).toEqual([]);
        expect(leaked).toBe(false);
        expect(end && TERMINAL.includes(end.status)).toBe(true);
        // The child, and the grandchild's exec and shell steps: each failed, naming the kind and what forbade it.
        expect(tree.map(({ run }) => run.plan_name).sort()).toEqual(['grab', 'grab', 'nest', 'shell', 'trojan']);
        expect(execSteps).toHaveLength(3);
        for (const step of execSteps) {
          expect(step).toMatchObject({ status: 'failed', attempt: 1, error_info: { code: 'kind_forbidden' } });
          expect(step.error_info!.message).toMatch(/uses exec, which this run does not allow/);
        }
        // Every run of the tree carries the API's kinds.
        for (const { run } of tree)
          expect(run.allowed_kinds).toEqual(['handler', 'http', 'manual', 'noop', 'plan', 'sleep']);
        expect(crashes).toBe(0);
      } finally {
        if (worker && worker.exitCode === null) {
          worker.kill('SIGKILL');
          await worker.output;
        }
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
    120_000,
  );
});

describe('hostile: a plan step and the files the runner hides', () => {
  it('refuses every hidden file alike, whether it exists, parses or is reached through a planted link', async () => {
    const cwd = workspace('plan-oracle');
    const token = `team-runner-${Math.random().toString(36).slice(2)}-0123456789`;
    writeTokens(cwd, token);
    writeFileSync(join(cwd, 'secrets.json'), JSON.stringify({ API_KEY: 'secret-canary-value' }));
    mkdirSync(join(cwd, 'keys'));
    writeFileSync(join(cwd, 'keys', 'attest.pem'), 'PRIVATE-KEY-CANARY');
    writeFileSync(
      join(cwd, 'hooks.json'),
      JSON.stringify({
        hooks: {
          openlineage: { transport: { type: 'file', path: '.maestro/openlineage' } },
          attestation: { key_file: 'keys/attest.pem' },
        },
      }),
    );
    mkdirSync(join(cwd, '.maestro', 'keys'), { recursive: true });
    writeFileSync(join(cwd, '.maestro', 'keys', 'attestation-ed25519.pem'), 'PRIVATE-KEY-CANARY');
    writeFileSync(
      join(cwd, '.maestro', 'notes.json'),
      JSON.stringify({ name: 'looks', steps: [{ id: 'a', uses: 'noop' }] }),
    );
    // A link a step could have left in the workspace, to a hidden file.
    symlinkSync(join(cwd, 'tokens.json'), join(cwd, 'innocent.json'));
    const targets = [
      'tokens.json',
      'secrets.json',
      'hooks.json',
      'keys/attest.pem',
      '.maestro/keys/attestation-ed25519.pem',
      '.maestro/maestro.db',
      '.maestro/notes.json',
      '.maestro/missing.json',
      'innocent.json',
    ];
    const { server, url: base } = await startServe(
      ['--tokens', 'tokens.json', '--store', 'sqlite://.maestro/maestro.db', '--hooks-config', 'hooks.json'],
      {
        cwd,
        env: { MAESTRO_POLL_MS: '50', MAESTRO_SECRETS: 'file:secrets.json', MAESTRO_LOG_LEVEL: 'warn' },
        timeoutMs: 90_000,
      },
    );
    const statuses: number[] = [];
    let hangs = 0;
    try {
      const plan = await api(base, token, 'POST', '/v1/plans', {
        plan: {
          name: 'oracle',
          steps: targets.map((target, i) => ({
            id: `t${i}`,
            uses: 'plan',
            continue_on_error: true,
            with: { plan: target },
          })),
        },
      });
      statuses.push(plan.status);
      expect(plan.status).toBe(201);
      const run = await api(base, token, 'POST', '/v1/runs', { plan_id: plan.body.plan.plan_id, execute: true });
      statuses.push(run.status);
      let detail: { run: RunDocument; steps: StepDocument[] } | undefined;
      for (const until = Date.now() + 30_000; Date.now() < until;) {
        const answer = await api(base, token, 'GET', `/v1/runs/${run.body.run_id}`);
        statuses.push(answer.status);
        detail = answer.body;
        if (detail && TERMINAL.includes(detail.run.status)) break;
        await sleep(100);
      }
      if (!detail || !TERMINAL.includes(detail.run.status)) hangs += 1;
      const errors = targets.map((target, i) => {
        const step = detail!.steps.find((s) => s.key === `t${i}`)!;
        return { target, status: step.status, code: step.error_info?.code, message: step.error_info?.message ?? '' };
      });
      // One answer for every hidden path: the same code, the same words but for the path as given.
      const shapes = new Set(errors.map((e) => `${e.status} ${e.code} ${e.message.replace(/"[^"]*"/, '<path>')}`));
      // Nothing but the path as given: no word of whether the file is there or what it holds.
      const revealing = errors.filter((e) =>
        /JSON|parse|ENOENT|not found|exist|cannot read|schema|\$\.name|\$\.steps|unexpected/i.test(
          e.message.replace(/"[^"]*"/, '<path>'),
        ),
      );
      recordHostile('plan step loading hidden files', {
        attempts: targets.length,
        refused: errors.filter((e) => e.code === 'path_forbidden').length - revealing.length,
        server_errors: statuses.filter((status) => status >= 500).length,
        crashes: server.exitCode === null ? 0 : 1,
        hangs,
      });
      expect(errors.map((e) => [e.target, e.code])).toEqual(targets.map((target) => [target, 'path_forbidden']));
      expect(revealing).toEqual([]);
      expect([...shapes]).toHaveLength(1);
      expect(JSON.stringify(detail)).not.toContain(token);
    } finally {
      server.kill('SIGTERM');
      await server.output;
    }
  }, 90_000);
});

describe('hostile: maestro serve with a hooks config and a handlers module', () => {
  it('runs the always hooks (ledger file, lineage POSTs) and the handlers module registers its handlers', async () => {
    const cwd = workspace('serve-hooks');
    const token = `team-runner-${Math.random().toString(36).slice(2)}-0123456789`;
    writeTokens(cwd, token);
    const lineage: Array<{ eventType: string; auth: string | undefined }> = [];
    const receiver = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        try {
          lineage.push({
            eventType: (JSON.parse(body) as { eventType: string }).eventType,
            auth: request.headers.authorization,
          });
        } catch {
          lineage.push({ eventType: 'unparsable', auth: undefined });
        }
        response.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    writeFileSync(
      join(cwd, 'hooks.json'),
      JSON.stringify({
        always: ['claim-ledger', 'openlineage'],
        hooks: {
          openlineage: { transport: { type: 'http', url: `http://127.0.0.1:${port}`, api_key: 'lineage-key' } },
        },
      }),
    );
    writeFileSync(
      join(cwd, 'handlers.mjs'),
      `export function register(engine) { engine.registerHandler('greet', ({ args }) => ({ said: 'hello ' + args.who })); }\n`,
    );
    const { server, url: base } = await startServe(
      [
        '--tokens',
        'tokens.json',
        '--store',
        'sqlite://.maestro/maestro.db',
        '--hooks-config',
        'hooks.json',
        '--handlers',
        'handlers.mjs',
      ],
      { cwd, env: { MAESTRO_POLL_MS: '50', MAESTRO_LOG_LEVEL: 'warn' }, timeoutMs: 60_000 },
    );
    const statuses: number[] = [];
    let hangs = 0;
    try {
      const plan = await api(base, token, 'POST', '/v1/plans', {
        plan: { name: 'greeted', steps: [{ id: 'greet', uses: 'handler', with: { handler: 'greet', who: 'world' } }] },
      });
      statuses.push(plan.status);
      const run = await api(base, token, 'POST', '/v1/runs', { plan_id: plan.body.plan.plan_id, execute: true });
      statuses.push(run.status);
      const runId = run.body.run_id as string;
      let detail: { run: RunDocument; steps: StepDocument[] } | undefined;
      for (const until = Date.now() + 30_000; Date.now() < until;) {
        const answer = await api(base, token, 'GET', `/v1/runs/${runId}`);
        statuses.push(answer.status);
        detail = answer.body;
        if (
          detail &&
          TERMINAL.includes(detail.run.status) &&
          detail.run.provenance.claim_ledger_manifest_ids.length > 0
        )
          break;
        await sleep(100);
      }
      for (const until = Date.now() + 10_000; Date.now() < until && !lineage.some((e) => e.eventType === 'COMPLETE');)
        await sleep(100);
      if (!detail || !TERMINAL.includes(detail.run.status)) hangs += 1;
      const ledgerFile = join(cwd, '.maestro', 'ledger', `${runId}.json`);
      const checks = [
        detail?.run.status === 'succeeded',
        detail?.steps[0]?.outputs?.said === 'hello world',
        existsSync(ledgerFile),
        lineage.some((e) => e.eventType === 'START') && lineage.some((e) => e.eventType === 'COMPLETE'),
      ];
      recordHostile('serve --hooks-config and --handlers', {
        attempts: checks.length,
        refused: checks.filter(Boolean).length,
        server_errors: statuses.filter((status) => status >= 500).length,
        crashes: server.exitCode === null ? 0 : 1,
        hangs,
      });
      expect(detail?.run.status).toBe('succeeded');
      expect(detail?.steps[0]?.outputs).toEqual({ said: 'hello world' });
      expect(existsSync(ledgerFile)).toBe(true);
      expect(detail?.run.provenance.claim_ledger_manifest_ids).toHaveLength(1);
      expect(lineage.map((e) => e.eventType)).toEqual(expect.arrayContaining(['START', 'COMPLETE']));
      expect(lineage.every((e) => e.auth === 'Bearer lineage-key')).toBe(true);
    } finally {
      server.kill('SIGTERM');
      await server.output;
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  }, 90_000);
});
