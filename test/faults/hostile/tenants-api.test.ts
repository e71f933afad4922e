import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/generated/schemas.js';
import { newId } from '../../../src/domain/ids.js';
import { stepLogPath } from '../../../src/engine/logs/step-log.js';
import { openStore } from '../../../src/store/open.js';
import { startTestApi, TOKENS, type ApiClient } from '../../support/api-server.js';
import { dropMongoDatabase, unavailable } from '../../support/backends.js';
import { MAESTRO, runCli, startServe } from '../../support/spawn-cli.js';
import { hostileStores, recordHostile, workspace } from './hostile-support.js';

const stores = hostileStores();

const manualSteps = (name: string, count: number): Plan => ({
  name,
  steps: Array.from({ length: count }, (_, i) => ({ id: `w${i}`, uses: 'manual' as const })),
});

/** A plan of the token's owner with one run of it; the run's steps by key. */
async function runOf(api: ApiClient, token: string, plan: Plan) {
  const created = await api.request('POST', '/v1/plans', { token, body: { plan } });
  const planId = (created.body as { plan: { plan_id: string } }).plan.plan_id;
  const run = (await api.request('POST', '/v1/runs', { token, body: { plan_id: planId } })).body as { run_id: string };
  const detail = (await api.request('GET', `/v1/runs/${run.run_id}`, { token })).body as {
    steps: Array<{ step_id: string; key: string }>;
  };
  return { runId: run.run_id, planId, steps: Object.fromEntries(detail.steps.map((s) => [s.key, s.step_id])) };
}

function plantLog(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

describe.each(stores)('hostile: tenants through the API on $name', ({ name, available, url }) => {
  it.skipIf(unavailable(available))(
    "a logs_ref reported over the API is never opened: another owner's log stays unread (also via ../), and offsets past 2^53 are 400",
    async () => {
      const cwd = workspace('tenant-logs');
      const storeUrl = url(cwd);
      const store = await openStore(storeUrl);
      const api = await startTestApi(store);
      try {
        const logsDir = api.engine.logsDirectory;
        const theirs = await runOf(api, TOKENS.teamB, manualSteps('theirs', 1));
        const theirLog = stepLogPath(logsDir, theirs.runId, 'w0', 1);
        plantLog(theirLog, 'TEAM-B-PRIVATE-LOG\n');
        const refs = [
          theirLog,
          join(logsDir, 'x', '..', theirs.runId, 'w0.1.log'),
          `${logsDir}/../logs/${theirs.runId}/w0.1.log`,
          `../${theirs.runId}/w0.1.log`,
          `file://${theirLog}`,
        ];
        const mine = await runOf(api, TOKENS.teamA, manualSteps('mine', refs.length));
        plantLog(stepLogPath(logsDir, mine.runId, 'w0', 1), 'TEAM-A-OWN-LOG\n');
        const answers: Array<{ status: number; text: string }> = [];
        const read = async (stepId: string, query: string) => {
          const response = await api.request('GET', `/v1/runs/${mine.runId}/steps/${stepId}/logs${query}`);
          answers.push({ status: response.status, text: JSON.stringify(response.body ?? '') });
        };
        for (const [i, ref] of refs.entries()) {
          const stepId = mine.steps[`w${i}`]!;
          const path = `/v1/runs/${mine.runId}/steps/${stepId}`;
          expect((await api.request('PATCH', path, { body: { status: 'running', logs_ref: ref } })).status).toBe(200);
          await read(stepId, '');
          const ended = await api.request('PATCH', path, { body: { status: 'succeeded', logs_ref: ref } });
          expect(ended.status).toBe(200);
          // The ref is shown as given.
          expect(ended.body.logs_ref).toBe(ref);
          await read(stepId, '');
          await read(stepId, '?attempt=1');
          await read(stepId, '?follow=true');
        }
        const leaked = answers.filter((a) => a.text.includes('TEAM-B-PRIVATE-LOG'));
        // The step's own log, the one the runner writes for it, is still served.
        const own = await api.request('GET', `/v1/runs/${mine.runId}/steps/${mine.steps.w0}/logs`);
        recordHostile(`logs_ref to another owner's log (${name})`, {
          attempts: answers.length,
          refused: answers.length - leaked.length,
          server_errors: answers.filter((a) => a.status >= 500).length,
          crashes: 0,
        });
        expect(leaked).toEqual([]);
        expect(answers.filter((a) => a.status >= 500)).toEqual([]);
        expect(own.body).toBe('TEAM-A-OWN-LOG\n');

        // Offsets past 2^53 are refused naming the field; the largest safe one is an empty answer.
        const offsets = ['9007199254740992', '9007199254740993', '99999999999999999999', '1e300'];
        const offsetAnswers = [];
        for (const offset of offsets)
          offsetAnswers.push(
            await api.request('GET', `/v1/runs/${mine.runId}/steps/${mine.steps.w0}/logs?offset=${offset}`),
          );
        const safe = await api.request(
          'GET',
          `/v1/runs/${mine.runId}/steps/${mine.steps.w0}/logs?offset=9007199254740991`,
        );
        recordHostile(`log offset past 2^53 (${name})`, {
          attempts: offsets.length,
          refused: offsetAnswers.filter((a) => a.status === 400).length,
          server_errors: offsetAnswers.filter((a) => a.status >= 500).length,
          crashes: 0,
        });
        for (const answer of offsetAnswers) {
          expect(answer.status).toBe(400);
          expect(JSON.stringify(answer.body)).toContain('offset');
        }
        expect(safe.status).toBe(200);
      } finally {
        await api.close();
        await store.close();
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
  );

  it.skipIf(unavailable(available))(
    'an artifact location never digests a hidden or runner file, a directory is 400 (exit 2 from the CLI), and size_bytes is bounded',
    async () => {
      const cwd = workspace('tenant-artifacts');
      const storeUrl = url(cwd);
      const token = 'artifact-runner-token-0123456789';
      const tokensFile = JSON.stringify({ tokens: [{ token, owner: 'team-a', role: 'runner' }] });
      writeFileSync(join(cwd, 'tokens.json'), tokensFile);
      mkdirSync(join(cwd, 'out'), { recursive: true });
      writeFileSync(join(cwd, 'out', 'report.json'), '{"ok":true}');
      symlinkSync(join(cwd, 'tokens.json'), join(cwd, 'out', 'innocent.json'));
      const { server, url: base } = await startServe(['--tokens', 'tokens.json', '--store', storeUrl], {
        cwd,
        timeoutMs: 120_000,
      });
      try {
        const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const post = async (path: string, body: unknown) => {
          const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
          const text = await response.text();
          return { status: response.status, text, body: JSON.parse(text) as Record<string, any> };
        };
        const plan = (await post('/v1/plans', { plan: manualSteps('artifacts', 1) })).body.plan as {
          plan_id: string;
        };
        const run = (await post('/v1/runs', { plan_id: plan.plan_id })).body as { run_id: string };
        plantLog(join(cwd, '.maestro', 'logs', 'other-run', 'w0.1.log'), 'private');
        const hostile: Array<Record<string, unknown>> = [
          { location: 'tokens.json' },
          { location: './tokens.json' },
          { location: 'out/../tokens.json' },
          { location: join(cwd, 'tokens.json') },
          { location: 'out/innocent.json' },
          { location: '.maestro/logs/other-run/w0.1.log' },
          { location: '.maestro/logs' },
          { location: '.maestro' },
          { location: '.' },
          { location: 'out' },
          { location: 'https://example.com/r', size_bytes: 1e300 },
          { location: 'https://example.com/r', size_bytes: 2 ** 60 },
        ];
        const answers = [];
        for (const extra of hostile)
          answers.push(await post(`/v1/runs/${run.run_id}/artifacts`, { type: 'report', name: 'r', ...extra }));
        const honest = await post(`/v1/runs/${run.run_id}/artifacts`, {
          type: 'report',
          name: 'report',
          location: 'out/report.json',
        });
        server.kill('SIGTERM');
        await server.output;
        const cliDir = await runCli(MAESTRO, ['artifacts', 'attach', run.run_id, 'out', '--type', 'report'], {
          cwd,
          env: { MAESTRO_STORE: storeUrl },
        });
        recordHostile(`artifact location oracle and bounds (${name})`, {
          attempts: answers.length + 1,
          refused: answers.filter((a) => a.status >= 400 && a.status < 500).length + (cliDir.code === 2 ? 1 : 0),
          server_errors: answers.filter((a) => a.status >= 500).length,
          crashes: cliDir.code === 2 ? 0 : 1,
        });
        expect(answers.map((a, i) => [hostile[i]!.location, a.status])).toEqual(hostile.map((h) => [h.location, 400]));
        for (const answer of answers) {
          expect(answer.text).not.toContain('sha256');
          expect(answer.body.code).toMatch(/PATH_FORBIDDEN|INPUT_INVALID/);
        }
        expect(honest.status).toBe(201);
        expect(honest.body.size_bytes).toBe(11);
        expect(cliDir.code).toBe(2);
      } finally {
        if (server.exitCode === null) {
          server.kill('SIGTERM');
          await server.output;
        }
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
  );
});

/** An SSE request on a raw socket that is never read (paused at once), like a client that stopped reading. */
function unreadStream(base: string, path: string, authorization: string): Promise<{ socket: Socket; status: number }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (status) {
        socket.off('data', onData);
        socket.pause();
        resolve({ socket, status: Number(status[1]) });
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: ${authorization}\r\nAccept: text/event-stream\r\n\r\n`,
    );
  });
}

/** The status of an SSE request that is read (and then closed at once). */
async function streamStatus(base: string, path: string, token: string): Promise<number> {
  const controller = new AbortController();
  const response = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  controller.abort();
  return response.status;
}

/** Ways to write one bearer token that the server reads as the same token. */
function spellings(token: string, count: number): string[] {
  const out: string[] = [];
  for (let mask = 0; out.length < count; mask += 1) {
    const scheme = [...'bearer'].map((c, i) => ((mask >> i) & 1 ? c.toUpperCase() : c)).join('');
    const gap = [' ', '  ', '\t', ' \t '][(mask >> 6) % 4]!;
    out.push(`${scheme}${gap}${token}`);
  }
  return out;
}

/** The slowest of /healthz probes 50 ms apart for a while, from a process of its own. */
function slowestHealthz(url: string, forMs: number): Promise<number> {
  const probe = `
    const url = process.argv[1]; const until = Date.now() + Number(process.argv[2]); let worst = 0;
    (async () => {
      while (Date.now() < until) {
        const started = performance.now();
        await fetch(url).then((r) => r.text());
        worst = Math.max(worst, performance.now() - started);
        await new Promise((r) => setTimeout(r, 50));
      }
      console.log(JSON.stringify({ worst }));
    })();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', probe, url, String(forMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve((JSON.parse(stdout) as { worst: number }).worst));
  });
}

describe('hostile: SSE limits', () => {
  it('one token written many ways counts as one token, and one owner cannot take the server from another', async () => {
    const store = await openStore('memory://');
    const api = await startTestApi(store, { streamLimits: { perToken: 10, perOwner: 15, perServer: 20 } });
    const sockets: Socket[] = [];
    try {
      const mine = await runOf(api, TOKENS.teamA, manualSteps('streams', 1));
      const theirs = await runOf(api, TOKENS.teamB, manualSteps('streams', 1));
      const eventsOf = (runId: string) => `/v1/runs/${runId}/events`;
      const statuses: number[] = [];
      for (const authorization of spellings(TOKENS.teamA, 30)) {
        const opened = await unreadStream(api.baseUrl, eventsOf(mine.runId), authorization);
        sockets.push(opened.socket);
        statuses.push(opened.status);
      }
      // The owner's second token: the owner's share, not the server, is what runs out.
      for (const authorization of spellings(TOKENS.teamAReader, 10)) {
        const opened = await unreadStream(api.baseUrl, eventsOf(mine.runId), authorization);
        sockets.push(opened.socket);
        statuses.push(opened.status);
      }
      const otherOwner = await streamStatus(api.baseUrl, eventsOf(theirs.runId), TOKENS.teamB);
      recordHostile('SSE streams per token whatever its spelling, and per owner', {
        attempts: statuses.length + 1,
        refused: statuses.filter((s) => s === 429).length,
        server_errors: statuses.filter((s) => s >= 500).length + (otherOwner >= 500 ? 1 : 0),
        crashes: 0,
      });
      expect(statuses.slice(0, 30).filter((s) => s === 200)).toHaveLength(10);
      expect(statuses.slice(30).filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(otherOwner).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await api.close();
      await store.close();
    }
  });

  it('clients that do not read a 6,000-event run are dropped within seconds, and /healthz stays fast meanwhile', async () => {
    const store = await openStore('memory://');
    const readers = 60;
    const api = await startTestApi(store, {
      streamLimits: { perToken: readers, perOwner: readers, perServer: readers },
    });
    const sockets: Socket[] = [];
    try {
      const { runId } = await runOf(api, TOKENS.teamA, manualSteps('busy', 1));
      // About 10 MB of stream per client: more than the OS buffers for a socket (4 MB send and about as much
      // receive on loopback here), so a client that does not read holds the server's writes up.
      const padding = 'x'.repeat(1500);
      for (let batch = 0; batch < 12; batch += 1) {
        await store.appendEvents(
          Array.from({ length: 500 }, (_, i) => ({
            eventId: newId(),
            event: { run_id: runId, type: 'step.started', at: new Date().toISOString(), data: { padding, i } },
          })),
        );
      }
      const path = `/v1/runs/${runId}/events`;
      // What /healthz costs on this machine now (other suites run beside this one): the yardstick on a busy machine.
      const baselineMs = await slowestHealthz(`${api.baseUrl}/healthz`, 1_000);
      const healthz = slowestHealthz(`${api.baseUrl}/healthz`, 4_000);
      const started = Date.now();
      const statuses = await Promise.all(
        Array.from({ length: readers }, async () => {
          const opened = await unreadStream(api.baseUrl, path, `Bearer ${TOKENS.teamA}`);
          sockets.push(opened.socket);
          return opened.status;
        }),
      );
      // The slots of dropped streams come back: as many new streams as there were readers get in again.
      let admitted = 0;
      while (admitted < readers && Date.now() - started < 8_000) {
        await sleep(250);
        const again = await Promise.all(
          Array.from({ length: readers }, () => unreadStream(api.baseUrl, path, `Bearer ${TOKENS.teamA}`)),
        );
        for (const { socket } of again) socket.destroy();
        admitted = again.filter((a) => a.status === 200).length;
      }
      const droppedWithinMs = Date.now() - started;
      const worstHealthzMs = await healthz;
      recordHostile('SSE clients that do not read', {
        attempts: readers,
        refused: admitted,
        server_errors: statuses.filter((s) => s >= 500).length,
        crashes: 0,
        hangs: readers - admitted,
        stores_open: `dropped_within_ms=${droppedWithinMs} worst_healthz_ms=${worstHealthzMs.toFixed(0)} baseline_worst_ms=${baselineMs.toFixed(0)}`,
      });
      expect(statuses.filter((s) => s === 200)).toHaveLength(readers);
      expect(admitted).toBe(readers);
      expect(droppedWithinMs).toBeLessThan(8_000);
      expect(worstHealthzMs).toBeLessThan(Math.max(1_500, 3 * baselineMs + 200));
    } finally {
      for (const socket of sockets) socket.destroy();
      await api.close();
      await store.close();
    }
  });
});
