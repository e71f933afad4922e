import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open.js';
import { createHarness } from '../../support/engine-harness.js';
import { MAESTRO, runCli } from '../../support/spawn-cli.js';
import { processesWith, recordHostile, workspace } from './hostile-support.js';
import { startTestApi } from '../../support/api-server.js';

/** An exec step whose detached grandchild (setsid) holds stdout and would outlive a naive kill. */
function detachedGrandchild(marker: string): string[] {
  return ['sh', '-c', `setsid sh -c 'exec -a ${marker} sleep 300' & sleep 300`];
}

describe('hostile: escapes', () => {
  it('a setsid grandchild is gone within the grace after a timeout and after a cancel', async () => {
    const store = await openStore('memory://');
    const h = createHarness(store);
    try {
      const timeoutMarker = `maestro-grandchild-timeout-${process.pid}`;
      const started = Date.now();
      const { steps } = await h.runPlan({
        name: 'detach',
        steps: [{ id: 'x', uses: 'exec', timeout_ms: 1000, with: { command: detachedGrandchild(timeoutMarker) } }],
      });
      const timedOutIn = Date.now() - started;
      await sleep(300);
      const afterTimeout = processesWith(timeoutMarker);

      const cancelMarker = `maestro-grandchild-cancel-${process.pid}`;
      const planDoc = await h.engine.applyPlanFile(
        h.writePlan({
          name: 'detach2',
          steps: [{ id: 'x', uses: 'exec', with: { command: detachedGrandchild(cancelMarker) } }],
        }),
      );
      const { run } = await h.engine.startRun(planDoc);
      const driving = h.engine.executeRun(run.run_id);
      for (let i = 0; i < 100 && processesWith(cancelMarker) === 0; i += 1) await sleep(50);
      const cancelledAt = Date.now();
      await h.engine.cancelRun(run.run_id);
      const ended = await driving;
      const cancelledIn = Date.now() - cancelledAt;
      await sleep(300);
      const afterCancel = processesWith(cancelMarker);
      recordHostile('setsid grandchild (timeout, cancel)', {
        attempts: 2,
        refused: (afterTimeout === 0 ? 1 : 0) + (afterCancel === 0 ? 1 : 0),
        server_errors: 0,
        crashes: 0,
        stores_open: `timeout_ms=${timedOutIn} cancel_ms=${cancelledIn}`,
      });
      expect(steps.x).toMatchObject({ status: 'failed', error_info: { code: 'step_timeout' } });
      expect(timedOutIn).toBeLessThan(1000 + 5000);
      expect(ended?.status).toBe('cancelled');
      expect(cancelledIn).toBeLessThan(5000);
      expect([afterTimeout, afterCancel]).toEqual([0, 0]);
    } finally {
      h.engine.close();
      await store.close();
    }
  });

  it('refuses symlink and ../ escapes of artifact paths, exec cwd and child plan paths, and never prints a logs_ref outside the logs', async () => {
    const storeUrl = `sqlite://${join(workspace('escape-store'), 'maestro.db')}`;
    const store = await openStore(storeUrl);
    const h = createHarness(store);
    try {
      const ws = h.workspace;
      symlinkSync('/etc/passwd', join(ws, 'passwd-link'));
      symlinkSync('/etc', join(ws, 'etc-link'));
      mkdirSync(join(ws, 'plans'));
      const { steps } = await h.runPlan({
        name: 'escapes',
        steps: [
          {
            id: 'artifact_link',
            uses: 'noop',
            artifacts: [{ type: 'report', path: 'passwd-link' }],
            continue_on_error: true,
          },
          {
            id: 'artifact_dir_link',
            uses: 'noop',
            artifacts: [{ type: 'report', path: 'etc-link/hostname' }],
            continue_on_error: true,
          },
          {
            id: 'artifact_dotdot',
            uses: 'noop',
            artifacts: [{ type: 'report', path: '../../etc/passwd' }],
            continue_on_error: true,
          },
          { id: 'cwd_link', uses: 'exec', with: { command: ['pwd'], cwd: 'etc-link' }, continue_on_error: true },
          { id: 'plan_dotdot', uses: 'plan', with: { plan: '../../etc/passwd' }, continue_on_error: true },
          { id: 'plan_absolute', uses: 'plan', with: { plan: '/etc/passwd' }, continue_on_error: true },
          { id: 'plan_link', uses: 'plan', with: { plan: 'passwd-link' }, continue_on_error: true },
        ],
      });
      const keys = [
        'artifact_link',
        'artifact_dir_link',
        'artifact_dotdot',
        'cwd_link',
        'plan_dotdot',
        'plan_absolute',
        'plan_link',
      ];
      const codes = keys.map((key) => steps[key]?.error_info?.code);
      const echoed = keys.filter((key) => (steps[key]?.error_info?.message ?? '').includes('root:'));

      // A logs_ref reported over the API that names a host file is shown, never opened.
      const api = await startTestApi(store);
      let printed = '';
      try {
        const plan = (
          await api.request('POST', '/v1/plans', {
            body: { plan: { name: 'waits', steps: [{ id: 'wait', uses: 'manual' }] } },
          })
        ).body.plan as { plan_id: string };
        const run = (await api.request('POST', '/v1/runs', { body: { plan_id: plan.plan_id } })).body as {
          run_id: string;
        };
        const stepId = (
          (await api.request('GET', `/v1/runs/${run.run_id}`)).body as { steps: Array<{ step_id: string }> }
        ).steps[0]!.step_id;
        await api.request('PATCH', `/v1/runs/${run.run_id}/steps/${stepId}`, {
          body: { status: 'succeeded', logs_ref: '/etc/passwd' },
        });
        await api.close();
        h.engine.close();
        await store.close();
        const logs = await runCli(MAESTRO, ['runs', 'logs', run.run_id], { cwd: ws, env: { MAESTRO_STORE: storeUrl } });
        expect(logs.code).toBe(0);
        printed = logs.stdout;
      } finally {
        await api.close();
      }
      recordHostile('symlink and ../ escapes', {
        attempts: keys.length,
        refused: codes.filter((c) => c === 'path_forbidden').length,
        server_errors: 0,
        crashes: 0,
      });
      expect(codes).toEqual(keys.map(() => 'path_forbidden'));
      expect(echoed).toEqual([]);
      expect(printed).toContain('/etc/passwd');
      expect(printed).not.toContain('root:');
    } finally {
      h.engine.close();
      await store.close().catch(() => undefined);
    }
  });

  it('a redirect to another origin carries no Authorization or custom header, and 303 turns a POST into a GET', async () => {
    const seen: Array<{ method: string; headers: IncomingHttpHeaders; body: string }> = [];
    const other = createServer((request, response) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', () => {
        seen.push({ method: request.method!, headers: request.headers, body });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    const first = createServer((request, response) => {
      request.resume();
      response
        .writeHead(request.url === '/see-other' ? 303 : 302, { location: `http://127.0.0.1:${otherPort}/landing` })
        .end();
    });
    await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
    const firstPort = (first.address() as AddressInfo).port;
    const store = await openStore('memory://');
    const h = createHarness(store);
    try {
      const headers = { authorization: 'Bearer top-secret-token', 'x-api-key': 'key-123', cookie: 'session=1' };
      const { steps } = await h.runPlan({
        name: 'redirects',
        steps: [
          {
            id: 'get',
            uses: 'http',
            with: { url: `http://127.0.0.1:${firstPort}/found`, headers, allow_hosts: ['127.0.0.1'] },
          },
          {
            id: 'post',
            uses: 'http',
            needs: ['get'],
            with: {
              url: `http://127.0.0.1:${firstPort}/see-other`,
              method: 'POST',
              body: { secret: 'payload' },
              headers,
              allow_hosts: ['127.0.0.1'],
            },
          },
        ],
      });
      expect(steps.get?.status).toBe('succeeded');
      expect(steps.post?.status).toBe('succeeded');
      const carried = seen.filter((r) => r.headers.authorization || r.headers['x-api-key'] || r.headers.cookie).length;
      recordHostile('cross-origin redirect', {
        attempts: seen.length,
        refused: seen.length - carried,
        server_errors: 0,
        crashes: 0,
      });
      expect(carried).toBe(0);
      expect(seen[1]).toMatchObject({ method: 'GET', body: '' });
    } finally {
      h.engine.close();
      await store.close();
      first.close();
      other.close();
    }
  });
});
