import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BSON, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDocument } from '../../src/generated/schemas.js';
import { openStore } from '../../src/store/open.js';
import { startTestApi, TOKENS } from '../support/api-server.js';
import { dropMongoDatabase, freshMongoUrl, mongoStoreEntries, requireBase, unavailable } from '../support/backends.js';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli } from '../support/spawn-cli.js';

// Characters that change under base64 and URL encoding, so every form is a different byte string.
const SECRET = 'Cn4ry-7Q/xZ+9w=vT';
const PASSWORD = 'Pw-canary-5531/+';
const FORMS = [SECRET, PASSWORD].flatMap((value) => [
  value,
  Buffer.from(value).toString('base64'),
  Buffer.from(value).toString('base64url'),
  encodeURIComponent(value),
]);

/** Every form of the canary values found in a text (should be none). */
function leaks(text: string): string[] {
  return FORMS.filter((form) => text.includes(form));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

// The exec step fails its first attempt after printing the secret (argv, env, base64), then succeeds printing it again.
const FLAKY = `
const token = process.argv[2];
if (process.env.MAESTRO_ATTEMPT === '1') {
  console.log('attempt 1 sees', token, process.env.TOKEN, process.env.PASSWORD);
  console.error('failing with', Buffer.from(token).toString('base64'), encodeURIComponent(token));
  process.exit(3);
}
process.stdout.write('split: ' + token.slice(0, 5));
setTimeout(() => {
  process.stdout.write(token.slice(5) + '\\n');
  require('fs').mkdirSync('out', { recursive: true });
  require('fs').writeFileSync('out/report.txt', 'report without secrets\\n');
  console.log(JSON.stringify({ echo: token, pw: process.env.PASSWORD, b64: Buffer.from(token).toString('base64') }));
}, 50);
`;
const HANDLERS = `
export function register(engine) {
  engine.registerHandler('echo', async ({ args, logger }) => {
    logger.info('handler got ' + args.token + ' and ' + args.password);
    return { token: args.token, password: args.password, b64: Buffer.from(args.token).toString('base64') };
  });
}
`;

function writeWorkspace(cwd: string, port: number): void {
  writeFileSync(join(cwd, 'flaky.cjs'), FLAKY);
  writeFileSync(join(cwd, 'handlers.mjs'), HANDLERS);
  writeFileSync(
    join(cwd, 'plan.json'),
    JSON.stringify({
      name: 'canary',
      secrets: ['CANARY'],
      hooks: ['claim-ledger', 'openlineage', 'attestation'],
      inputs: {
        type: 'object',
        properties: { password: { type: 'string', writeOnly: true }, note: { type: 'string' } },
      },
      steps: [
        {
          id: 'flaky',
          uses: 'exec',
          retry: { max_attempts: 2, backoff_ms: 10 },
          with: {
            command: ['node', 'flaky.cjs', '${{ secrets.CANARY }}'],
            env: { TOKEN: '${{ secrets.CANARY }}', PASSWORD: '${{ inputs.password }}' },
          },
          artifacts: [{ type: 'report', path: 'out/report.txt' }],
        },
        {
          id: 'call',
          uses: 'http',
          needs: ['flaky'],
          with: {
            url: `http://127.0.0.1:${port}/echo`,
            headers: { authorization: 'Bearer ${{ secrets.CANARY }}' },
            allow_hosts: ['127.0.0.1'],
          },
        },
        {
          id: 'hand',
          uses: 'handler',
          needs: ['call'],
          with: { handler: 'echo', token: '${{ secrets.CANARY }}', password: '${{ inputs.password }}' },
        },
      ],
    }),
  );
}

/**
 * Everything the store holds, as text: the bytes of the SQLite store's files (its free pages too), or every document
 * of every collection.
 */
async function dumpStore(url: string, cwd: string): Promise<string> {
  if (url.startsWith('sqlite://'))
    return filesUnder(join(cwd, '.maestro'))
      .filter((f) => /maestro\.db(-wal|-shm|-journal)?$/.test(f))
      .map((f) => readFileSync(f, 'latin1'))
      .join('\n');
  const client = await MongoClient.connect(url);
  try {
    const db = client.db();
    const texts: string[] = [];
    for (const { name } of await db.listCollections().toArray())
      texts.push(BSON.EJSON.stringify(await db.collection(name).find({}).toArray()));
    return texts.join('\n');
  } finally {
    await client.close();
  }
}

const stores = [
  { name: 'sqlite (file)', available: true, url: () => 'sqlite://.maestro/maestro.db' },
  ...mongoStoreEntries().map(({ name, base }) => ({
    name,
    available: base !== undefined,
    url: () => freshMongoUrl(requireBase(base)),
  })),
];

describe('a secret canary never lands anywhere', () => {
  let echo: Server;
  let port = 0;
  beforeAll(async () => {
    // The http step's target: echoes the Authorization header it got, as a careless service might.
    echo = createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ auth: request.headers.authorization }));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    port = (echo.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

  describe.each(stores)('on $name', ({ available, url }) => {
    it.skipIf(unavailable(available))(
      'store, workspace, hooks, API, SSE and CLI output hold no form of the secret or the write-only input',
      async () => {
        const cwd = mkdtempSync(join(tmpdir(), 'maestro-canary-'));
        const storeUrl = url();
        writeWorkspace(cwd, port);
        const env = {
          MAESTRO_STORE: storeUrl,
          MAESTRO_SECRET_CANARY: SECRET,
          MAESTRO_HANDLERS: 'handlers.mjs',
          MAESTRO_POLL_MS: '50',
        };
        const args = ['plan.json', '--input', `password=${PASSWORD}`, '--input', 'note=hello'];
        try {
          const json = await runCli(MAESTRO_RUN, [...args, '--json'], { cwd, env });
          expect(json.stderr).not.toContain('SECRET_MISSING');
          expect(json.code).toBe(0);
          const result = jsonLines(json.stdout).at(-1) as {
            run: RunDocument;
            steps: Array<{ key: string; attempt: number; outputs?: Record<string, unknown> }>;
          };
          const runId = result.run.run_id;
          // The steps really had the values: each echoed them back, and what was stored is the mask.
          expect(result.steps.find((s) => s.key === 'flaky')).toMatchObject({
            attempt: 2,
            outputs: { echo: '***', pw: '***', b64: '***' },
          });
          expect(result.steps.find((s) => s.key === 'call')?.outputs).toMatchObject({ body: { auth: 'Bearer ***' } });
          expect(result.steps.find((s) => s.key === 'hand')?.outputs).toEqual({
            token: '***',
            password: '***',
            b64: '***',
          });
          expect(result.run).toMatchObject({ inputs: { password: '***', note: 'hello' }, secret_names: ['CANARY'] });

          // The live terminal view, through a real pseudo-terminal.
          const command = [process.execPath, MAESTRO_RUN, ...args].map((part) => `'${part}'`).join(' ');
          // Not spawnSync: the http step's target server lives in this process and must keep answering.
          const tty = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn('script', ['-qec', command, '/dev/null'], {
              cwd,
              // As spawn-cli does: the test's MongoDB-wire servers need no credentials.
              env: { ...process.env, MAESTRO_ALLOW_OPEN_STORE: '1', ...env, NO_COLOR: '1' },
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
            child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
            const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
            child.on('close', (status) => {
              clearTimeout(timer);
              resolve({ status, stdout, stderr });
            });
          });
          expect(tty.status).toBe(0);
          expect(tty.stdout).toContain('succeeded');

          const cli = [
            json.stdout,
            json.stderr,
            tty.stdout,
            tty.stderr,
            // At once: every process opens the store file beside the others.
            ...(await Promise.all(
              [
                ['runs', 'show', runId, '--json'],
                ['runs', 'show', runId],
                ['runs', 'events', runId, '--json'],
                ['runs', 'logs', runId],
              ].map(async (args) => {
                const shown = await runCli(MAESTRO, args, { cwd, env });
                expect(shown.code).toBe(0);
                return shown.stdout + shown.stderr;
              }),
            )),
          ].join('\n');
          // The log does hold what the step printed, masked.
          expect(cli).toContain('split: ***');

          const store = await openStore(storeUrl, { cwd });
          const api = await startTestApi(store);
          let http = '';
          try {
            for (const path of [`/v1/runs/${runId}`, `/v1/runs/${runId}/events`, `/v1/runs?limit=50`])
              http += JSON.stringify((await api.request('GET', path, { token: TOKENS.admin })).body);
            const sse = await fetch(`${api.baseUrl}/v1/runs/${runId}/events`, {
              headers: { authorization: `Bearer ${TOKENS.admin}`, accept: 'text/event-stream' },
            });
            const frames = await sse.text();
            expect(frames).toContain('run.succeeded');
            http += frames;
          } finally {
            await api.close();
            await store.close();
          }

          // The store's own files are searched as the store, above.
          const workspaceFiles = filesUnder(join(cwd, '.maestro')).filter((f) => !/maestro\.db(-\w+)?$/.test(f));
          const produced = workspaceFiles.map((f) => f.replace(cwd, ''));
          expect(produced.some((f) => f.includes('ledger'))).toBe(true);
          expect(produced.some((f) => f.includes('openlineage'))).toBe(true);
          expect(produced.some((f) => f.includes('attestation'))).toBe(true);
          expect(produced.some((f) => f.endsWith('.log'))).toBe(true);
          const workspace = workspaceFiles.map((f) => readFileSync(f, 'utf8')).join('\n');

          expect({
            store: leaks(await dumpStore(storeUrl, cwd)),
            workspace: leaks(workspace),
            api: leaks(http),
            cli: leaks(cli),
          }).toEqual({ store: [], workspace: [], api: [], cli: [] });
        } finally {
          if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
        }
      },
      120_000,
    );
  });
});

describe('a missing secret', () => {
  it('fails the step with SECRET_MISSING naming the secret, and never retries it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-missing-'));
    writeFileSync(
      join(cwd, 'plan.json'),
      JSON.stringify({
        name: 'missing',
        secrets: ['NOT_SET'],
        steps: [
          {
            id: 'a',
            uses: 'exec',
            retry: { max_attempts: 3 },
            with: { command: ['true'], env: { T: '${{ secrets.NOT_SET }}' } },
          },
        ],
      }),
    );
    const result = await runCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd });
    expect(result.code).toBe(1);
    const step = (
      jsonLines(result.stdout).at(-1) as {
        steps: Array<{ attempt: number; error_info: { code: string; message: string; details: unknown } }>;
      }
    ).steps[0]!;
    expect(step).toMatchObject({ attempt: 1, error_info: { code: 'secret_missing', details: { secret: 'NOT_SET' } } });
    expect(step.error_info.message).toContain('MAESTRO_SECRET_*');
  });
});

describe('exec environment', () => {
  it("an exec step sees none of the runner's other variables by default, and sees one listed in env_passthrough", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-env-'));
    mkdirSync(join(cwd, 'plans'));
    const printEnv = ['node', '-e', 'console.log(JSON.stringify({ keys: Object.keys(process.env).sort() }))'];
    writeFileSync(
      join(cwd, 'plans', 'env.json'),
      JSON.stringify({
        name: 'env',
        env_passthrough: ['PASS_ME'],
        steps: [{ id: 'env', uses: 'exec', with: { command: printEnv, env: { GIVEN: 'yes' } } }],
      }),
    );
    const env = { MY_SECRET_X: 'runner-only', PASS_ME: 'listed', MAESTRO_SECRET_OTHER: 'never' };
    const result = await runCli(MAESTRO_RUN, ['plans/env.json', '--json'], { cwd, env });
    expect(result.code).toBe(0);
    const keys = (jsonLines(result.stdout).at(-1) as { steps: Array<{ outputs: { keys: string[] } }> }).steps[0]!
      .outputs.keys;
    expect(keys).toContain('PASS_ME');
    expect(keys).toContain('GIVEN');
    expect(keys).toContain('PATH');
    expect(keys).not.toContain('MY_SECRET_X');
    expect(keys).not.toContain('MAESTRO_SECRET_OTHER');
    // Only the minimal set, the step's own MAESTRO_* variables and what the plan gave (PWD: set by the sandbox).
    expect(
      keys.filter(
        (k) => !k.startsWith('MAESTRO_') && !['PATH', 'HOME', 'LANG', 'TZ', 'PASS_ME', 'GIVEN', 'PWD'].includes(k),
      ),
    ).toEqual([]);

    const inherited = await runCli(MAESTRO_RUN, ['plans/env.json', '--json'], {
      cwd,
      env: { ...env, MAESTRO_EXEC_INHERIT_ENV: '1' },
    });
    const all = (jsonLines(inherited.stdout).at(-1) as { steps: Array<{ outputs: { keys: string[] } }> }).steps[0]!
      .outputs.keys;
    expect(all).toContain('MY_SECRET_X');
    expect(all).not.toContain('MAESTRO_SECRET_OTHER');
  });
});
