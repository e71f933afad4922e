import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isBubblewrapAvailable } from '../../../src/engine/executors/exec-sandbox.js';
import { DEFAULT_STORE_URL, openStore } from '../../../src/store/open.js';
import { startTestApi } from '../../support/api-server.js';
import {
  dropMongoDatabase,
  freshMongoUrl,
  mongoStoreEntries,
  requireBase,
  unavailable,
} from '../../support/backends.js';
import { createHarness } from '../../support/engine-harness.js';
import { startServe } from '../../support/spawn-cli.js';
import { recordHostile, workspace } from './hostile-support.js';

const sandboxModes = [
  { mode: 'on' as const, skip: unavailable(isBubblewrapAvailable()) },
  { mode: 'off' as const, skip: false },
];

/** A file outside every workspace that a step must not reach through a link (a crontab, the tokens file). */
function victim(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'maestro-victim-')), 'crontab');
  writeFileSync(path, content);
  return path;
}

/** Resolves within `ms` or reports a hang. */
async function within<T>(ms: number, work: Promise<T>): Promise<{ value?: T; hung: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)));
  try {
    const outcome = await Promise.race([work, timeout]);
    return outcome === 'hung' ? { hung: true } : { value: outcome, hung: false };
  } catch {
    return { hung: false };
  } finally {
    clearTimeout(timer);
  }
}

describe('hostile: the runner never follows what a step planted', () => {
  for (const { mode, skip } of sandboxModes) {
    it.skipIf(skip)(
      `a symlink at $MAESTRO_OUTPUT or $MAESTRO_COST is not read by the runner (sandbox ${mode})`,
      async () => {
        const secret = victim(JSON.stringify({ token: 'TOKENS-FILE-CANARY' }));
        const costly = victim('7');
        const store = await openStore('memory://');
        const h = createHarness(store, { sandbox: mode });
        try {
          const link = (variable: string, target: string) => ({
            uses: 'exec',
            continue_on_error: true,
            with: { command: ['sh', '-c', `ln -sf "$1" "$${variable}"`, 'sh', target] },
          });
          const { run, steps } = await h.runPlan({
            name: 'link-output',
            steps: [
              { id: 'out', ...link('MAESTRO_OUTPUT', secret) },
              { id: 'cost', ...link('MAESTRO_COST', costly) },
            ],
          });
          const leaked = JSON.stringify(steps).includes('TOKENS-FILE-CANARY');
          const costRead = run.usage.cost > 0;
          recordHostile(`symlinked $MAESTRO_OUTPUT/$MAESTRO_COST (sandbox ${mode})`, {
            attempts: 2,
            refused: (leaked ? 0 : 1) + (costRead ? 0 : 1),
            server_errors: 0,
            crashes: 0,
          });
          expect(leaked).toBe(false);
          expect(costRead).toBe(false);
          expect(steps.out).toMatchObject({ status: 'failed', error_info: { code: 'step_failed' } });
          expect(steps.out!.error_info!.message).toContain('MAESTRO_OUTPUT');
          expect(steps.cost).toMatchObject({ status: 'failed', error_info: { code: 'step_failed' } });
        } finally {
          h.engine.close();
          await store.close();
        }
      },
    );
  }

  for (const { mode, skip } of sandboxModes) {
    it.skipIf(skip)(
      `a step cannot link its next attempt’s log or a later step’s log to a file the runner appends to (sandbox ${mode})`,
      async () => {
        const crontab = victim('ORIGINAL\n');
        const store = await openStore('memory://');
        const h = createHarness(store, { sandbox: mode });
        try {
          // Every place the log of attempt 2 of `plant` or of `later` could be: beside $MAESTRO_OUTPUT and in the
          // workspace's logs directory.
          const script = `for d in "$(dirname "$MAESTRO_OUTPUT")" "$PWD/.maestro/logs/$MAESTRO_RUN_ID"; do
  ln -sf "$1" "$d/plant.2.log" 2>/dev/null; ln -sf "$1" "$d/later.1.log" 2>/dev/null; done
[ "$MAESTRO_ATTEMPT" = 2 ] || exit 1
echo "* * * * * root evil" ; exit 0`;
          const { run, steps } = await h.runPlan({
            name: 'link-log',
            steps: [
              {
                id: 'plant',
                uses: 'exec',
                retry: { max_attempts: 2, backoff_ms: 0 },
                with: { command: ['sh', '-c', script, 'sh', crontab] },
              },
              { id: 'later', uses: 'exec', needs: ['plant'], with: { command: ['echo', 'evil from later'] } },
            ],
          });
          const after = readFileSync(crontab, 'utf8');
          recordHostile(`symlinked step log (sandbox ${mode})`, {
            attempts: 2,
            refused: (after.includes('evil') ? 0 : 1) + (after.includes('later') ? 0 : 1),
            server_errors: 0,
            crashes: 0,
          });
          expect(after).toBe('ORIGINAL\n');
          expect(run.status).toBe('succeeded');
          expect(steps.plant!.attempt).toBe(2);
        } finally {
          h.engine.close();
          await store.close();
        }
      },
    );
  }

  const fifoStores = [
    { name: 'embedded store', base: 'embedded', skip: unavailable(isBubblewrapAvailable()) },
    ...mongoStoreEntries().map((entry) => ({
      name: entry.name,
      base: entry.base,
      skip: unavailable(isBubblewrapAvailable() && entry.base !== undefined),
    })),
  ];
  for (const { name, base, skip } of fifoStores) {
    it.skipIf(skip)(
      `a FIFO at $MAESTRO_OUTPUT fails its step: no hang, store calls answer, /readyz ready, SIGTERM ends the server (${name})`,
      async () => {
        const cwd = workspace('fifo');
        const token = `admin-${createHash('sha256').update(cwd).digest('hex').slice(0, 24)}`;
        const tokensFile = join(mkdtempSync(join(tmpdir(), 'maestro-tokens-')), 'tokens.json');
        writeFileSync(tokensFile, JSON.stringify({ tokens: [{ token, owner: 'ops', role: 'admin' }] }));
        const storeUrl = base === 'embedded' ? DEFAULT_STORE_URL : freshMongoUrl(requireBase(base));
        const { server, url } = await startServe(
          ['--tokens', tokensFile, '--allow-kinds', 'all', '--store', storeUrl],
          {
            cwd,
            env: { MAESTRO_POLL_MS: '50' },
            timeoutMs: 90_000,
          },
        );
        const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const call = (path: string, init: RequestInit = {}): Promise<Response> =>
          fetch(`${url}${path}`, { ...init, headers: auth, signal: AbortSignal.timeout(5_000) });
        let hangs = 0;
        let serverErrors = 0;
        const runs = 6;
        try {
          const plan = (await (
            await call('/v1/plans', {
              method: 'POST',
              body: JSON.stringify({
                plan: {
                  name: 'fifo',
                  steps: [
                    {
                      id: 'fifo',
                      uses: 'exec',
                      with: { command: ['sh', '-c', 'mkfifo "$MAESTRO_OUTPUT" && mkfifo "$MAESTRO_COST"'] },
                    },
                  ],
                },
              }),
            })
          ).json()) as { plan: { plan_id: string } };
          const runIds: string[] = [];
          for (let i = 0; i < runs; i += 1) {
            const started = await call('/v1/runs', {
              method: 'POST',
              body: JSON.stringify({ plan_id: plan.plan.plan_id, execute: true }),
            });
            runIds.push(((await started.json()) as { run_id: string }).run_id);
          }
          const ended: string[] = [];
          const deadline = Date.now() + 40_000;
          for (const runId of runIds) {
            for (;;) {
              const detail = await within(
                5_000,
                call(`/v1/runs/${runId}`).then((r) => r.json()),
              );
              if (detail.hung) {
                hangs += 1;
                break;
              }
              const status = (detail.value as { run?: { status?: string } }).run?.status;
              if (status && ['succeeded', 'failed', 'cancelled'].includes(status)) {
                ended.push(status);
                break;
              }
              if (Date.now() > deadline) {
                hangs += 1;
                break;
              }
              await sleep(200);
            }
          }
          // Store calls still answer: a new plan is stored and listed, and readiness asked the store.
          const stored = await within(
            5_000,
            call('/v1/runs?limit=50').then((r) => r.status),
          );
          const ready = await within(
            8_000,
            fetch(`${url}/readyz`).then((r) => r.status),
          );
          hangs += (stored.hung ? 1 : 0) + (ready.hung ? 1 : 0);
          serverErrors += stored.value !== undefined && stored.value >= 500 ? 1 : 0;
          expect(stored.value).toBe(200);
          expect(ready.value).toBe(200);
          expect(ended).toEqual(Array.from({ length: runs }, () => 'failed'));
        } finally {
          const stopped = Date.now();
          server.kill('SIGTERM');
          const exit = await within(15_000, server.output);
          if (exit.hung) {
            hangs += 1;
            server.kill('SIGKILL');
            await server.output;
          }
          recordHostile(`FIFO at $MAESTRO_OUTPUT (${name})`, {
            attempts: runs,
            refused: runs - hangs,
            server_errors: serverErrors,
            crashes: exit.value && exit.value.code !== 0 && exit.value.signal !== 'SIGTERM' ? 1 : 0,
            hangs,
          });
          if (base !== 'embedded') await dropMongoDatabase(storeUrl).catch(() => undefined);
          expect(exit.hung).toBe(false);
          expect(Date.now() - stopped).toBeLessThan(15_000);
        }
      },
      120_000,
    );
  }

  it('/readyz answers 503 within its bound when the store does not answer, and 200 when it does', async () => {
    const real = await openStore('memory://');
    let wedged = false;
    const store = new Proxy(real, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        return (...args: unknown[]) =>
          wedged && name !== 'close' ? new Promise(() => undefined) : method.apply(target, args);
      },
    });
    const api = await startTestApi(store);
    try {
      const healthy = await within(
        5_000,
        fetch(`${api.baseUrl}/readyz`).then((r) => r.status),
      );
      wedged = true;
      const started = Date.now();
      const stuck = await within(
        10_000,
        fetch(`${api.baseUrl}/readyz`).then((r) => r.status),
      );
      const took = Date.now() - started;
      recordHostile('/readyz with a wedged store', {
        attempts: 1,
        refused: stuck.value === 503 ? 1 : 0,
        server_errors: 0,
        crashes: 0,
        hangs: stuck.hung ? 1 : 0,
      });
      expect(healthy.value).toBe(200);
      expect(stuck.value).toBe(503);
      expect(took).toBeLessThan(6_000);
    } finally {
      wedged = false;
      await api.close();
      await real.close();
    }
  }, 30_000);
});
