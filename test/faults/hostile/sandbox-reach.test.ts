import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBubblewrapAvailable } from '../../../src/engine/executors/exec-sandbox.js';
import { DEFAULT_STORE_URL } from '../../../src/store/open.js';
import {
  dropMongoDatabase,
  freshMongoUrl,
  mongoStoreEntries,
  requireBase,
  unavailable,
} from '../../support/backends.js';
import { MAESTRO, MAESTRO_RUN, runCli, startCli, startServe } from '../../support/spawn-cli.js';
import { recordHostile, workspace } from './hostile-support.js';

/** Reads every path it is given and what it can find of the runner, into report.json in the workspace. */
const snoop = `const fs = require('fs'); const out = {};
for (const p of process.argv.slice(1)) {
  try { out[p] = fs.statSync(p).isDirectory() ? 'dir:' + fs.readdirSync(p).join(',') : fs.readFileSync(p, 'utf8'); }
  catch (e) { out[p] = 'ERR ' + e.code; }
}
out.cmdlines = fs.readdirSync('/proc').filter((d) => /^\\d+$/.test(d)).map((d) => {
  try { return fs.readFileSync('/proc/' + d + '/cmdline', 'utf8').replace(/\\0/g, ' '); } catch { return ''; } }).join('\\n');
out.env = JSON.stringify(process.env);
out.uid = String(process.getuid());
fs.writeFileSync('report.json', JSON.stringify(out));`;

describe('hostile: what a sandboxed step can reach', () => {
  it.skipIf(unavailable(isBubblewrapAvailable()))(
    'a step sees no hooks config, key_file, other owners’ logs or attestations, /etc/shadow, nor the store’s URL',
    async () => {
      const cwd = workspace('reach');
      const storeUrl = DEFAULT_STORE_URL;
      // Everything below is world-readable on disk: only the sandbox keeps it from the step.
      const { privateKey } = generateKeyPairSync('ed25519');
      mkdirSync(join(cwd, 'keys'));
      const keyFile = join(cwd, 'keys', 'attest.pem');
      writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o644 });
      const hooksFile = join(cwd, 'hooks.json');
      writeFileSync(
        hooksFile,
        JSON.stringify({
          hooks: {
            openlineage: { transport: { type: 'http', url: 'http://127.0.0.1:9/', api_key: 'API-KEY-CANARY' } },
            attestation: { key_file: keyFile },
          },
        }),
        { mode: 0o644 },
      );
      const otherLog = join(cwd, '.maestro', 'logs', 'run-of-team-b', 'deploy.1.log');
      const otherAttestation = join(cwd, '.maestro', 'attestations', 'run-of-team-b.intoto.jsonl');
      for (const [path, text] of [
        [otherLog, 'OTHER-LOG-CANARY'],
        [otherAttestation, 'ATTESTATION-CANARY'],
      ] as const) {
        mkdirSync(join(path, '..'), { recursive: true });
        writeFileSync(path, text, { mode: 0o644 });
      }
      writeFileSync(
        join(cwd, 'snoop.json'),
        JSON.stringify({
          name: 'snoop',
          steps: [
            {
              id: 'snoop',
              uses: 'exec',
              with: {
                command: [
                  'node',
                  '-e',
                  snoop,
                  hooksFile,
                  keyFile,
                  otherLog,
                  otherAttestation,
                  '/etc/shadow',
                  join(cwd, '.maestro', 'maestro.db'),
                ],
              },
            },
          ],
        }),
      );
      const result = await runCli(
        MAESTRO_RUN,
        ['snoop.json', '--json', '--store', storeUrl, '--hooks-config', hooksFile],
        {
          cwd,
          env: {
            MAESTRO_SANDBOX: 'on',
            MAESTRO_EXEC_INHERIT_ENV: '1',
            MAESTRO_STORE: storeUrl,
            DATABASE_OF_MAESTRO: `uri=${storeUrl}`,
          },
          timeoutMs: 60_000,
        },
      );
      expect(result.code, result.stderr).toBe(0);
      const seen = JSON.parse(readFileSync(join(cwd, 'report.json'), 'utf8')) as Record<string, string>;
      const canaries = {
        'hooks config (api_key)': 'API-KEY-CANARY',
        key_file: 'PRIVATE KEY',
        'another owner’s log': 'OTHER-LOG-CANARY',
        'another owner’s attestation': 'ATTESTATION-CANARY',
        '/etc/shadow': 'root:',
        'the embedded store': 'SQLite format',
        'store URL in env': storeUrl,
        'store URL in a runner argv': '--store',
      };
      const text = JSON.stringify(seen);
      const leaked = Object.entries(canaries)
        .filter(([, canary]) => text.includes(canary))
        .map(([name]) => name);
      recordHostile('step reaching hidden files, host files, store URL', {
        attempts: Object.keys(canaries).length,
        refused: Object.keys(canaries).length - leaked.length,
        server_errors: 0,
        crashes: result.code === 0 ? 0 : 1,
      });
      expect(leaked).toEqual([]);
      expect(seen['/etc/shadow']).toBe('ERR EACCES');
      expect(seen.uid).not.toBe('0');
    },
  );

  const stores = mongoStoreEntries().map((entry) => ({ ...entry, skip: unavailable(entry.base !== undefined) }));
  for (const { name, base, skip } of stores) {
    it.skipIf(skip)(
      `a runner with exec beside a MongoDB on loopback that needs no credentials refuses to start unless told (${name})`,
      async () => {
        const cwd = workspace('openstore');
        const url = freshMongoUrl(requireBase(base));
        writeFileSync(
          join(cwd, 'tokens.json'),
          JSON.stringify({ tokens: [{ token: 'open-store-token-0123456789', owner: 'ops', role: 'admin' }] }),
        );
        writeFileSync(
          join(cwd, 'plan.json'),
          JSON.stringify({ name: 'p', steps: [{ id: 'x', uses: 'exec', with: { command: ['true'] } }] }),
        );
        const refusedEnv = { MAESTRO_ALLOW_OPEN_STORE: '' };
        try {
          const run = await runCli(MAESTRO_RUN, ['plan.json', '--json', '--store', url], {
            cwd,
            env: refusedEnv,
            timeoutMs: 30_000,
          });
          const worker = await runCli(MAESTRO, ['worker', '--store', url, '--max-runs', '1'], {
            cwd,
            env: refusedEnv,
            timeoutMs: 30_000,
          });
          // Told otherwise (flag or environment), or with no exec allowed, it runs and says so.
          const flagged = await runCli(MAESTRO_RUN, ['plan.json', '--json', '--allow-open-store', '--store', url], {
            cwd,
            env: refusedEnv,
            timeoutMs: 30_000,
          });
          const noExec = startCli(MAESTRO, ['worker', '--store', url, '--allow-kinds', 'noop'], {
            cwd,
            env: refusedEnv,
            timeoutMs: 30_000,
          });
          await new Promise((resolve) => setTimeout(resolve, 1_500));
          const noExecRunning = noExec.exitCode === null;
          noExec.kill('SIGTERM');
          await noExec.output;
          // The server's runner with exec let in over the API: refused the same way (it never listens).
          const serve = await startServe(['--tokens', 'tokens.json', '--allow-kinds', 'all', '--store', url], {
            cwd,
            env: refusedEnv,
            timeoutMs: 30_000,
          }).then(
            async ({ server }) => {
              server.kill('SIGTERM');
              await server.output;
              return { code: 0, stderr: 'started' };
            },
            (error: Error) => ({ code: /exited with 2/.test(error.message) ? 2 : 1, stderr: error.message }),
          );
          const refusals = [run, worker, serve].filter(
            (r) => r.code === 2 && /needs no credentials/.test(r.stderr) && /MAESTRO_ALLOW_OPEN_STORE/.test(r.stderr),
          ).length;
          recordHostile(`exec beside a credential-less local store (${name})`, {
            attempts: 3,
            refused: refusals,
            server_errors: 0,
            crashes: 0,
          });
          expect(run.code, run.stderr).toBe(2);
          expect(run.stderr).toContain('needs no credentials');
          expect(worker.code, worker.stderr).toBe(2);
          expect(serve.code, serve.stderr).toBe(2);
          expect(refusals).toBe(3);
          expect(flagged.code, flagged.stderr).toBe(0);
          expect(flagged.stderr).toContain('warning');
          expect(noExecRunning).toBe(true);
        } finally {
          await dropMongoDatabase(url).catch(() => undefined);
        }
      },
      60_000,
    );
  }
});
