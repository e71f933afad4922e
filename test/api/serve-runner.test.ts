import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RunDocument } from '../../src/generated/schemas.js';
import { isTerminalRunStatus } from '../../src/domain/status.js';
import { openStore } from '../../src/store/open.js';
import { dropMongoDatabase, freshMongoUrl, mongoStoreEntries, requireBase, unavailable } from '../support/backends.js';
import { startServe } from '../support/spawn-cli.js';

const TOKEN = 'serve-runner-token-0123456789abcdef';

/** The embedded store (serve's default, in its workspace) and each MongoDB-wire server. */
const stores = [
  { name: 'the embedded store', available: true, url: undefined as (() => string) | undefined },
  ...mongoStoreEntries().map(({ name, base }) => ({
    name,
    available: base !== undefined,
    url: () => freshMongoUrl(requireBase(base)),
  })),
];

interface Served {
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
  stop: () => Promise<{ code: number | null; stderr: string }>;
  /** The store serve used, opened by the test once serve has stopped. */
  storeUrl: string;
}

async function serve(storeUrl: string | undefined, extra: string[] = []): Promise<Served> {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-serve-runner-'));
  writeFileSync(
    join(cwd, 'tokens.json'),
    JSON.stringify({ tokens: [{ token: TOKEN, owner: 'team', role: 'runner' }] }),
  );
  const args = ['--tokens', 'tokens.json', '--schedule-min-interval', '1s', ...extra];
  if (storeUrl) args.push('--store', storeUrl);
  const { server, url } = await startServe(args, {
    cwd,
    env: { MAESTRO_POLL_MS: '50', MAESTRO_ALLOW_OPEN_STORE: '1' },
    timeoutMs: 60_000,
  });
  return {
    storeUrl: storeUrl ?? `sqlite://${join(cwd, '.maestro', 'maestro.db')}`,
    async call(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async stop() {
      if (server.exitCode === null) server.kill('SIGTERM');
      const { code, stderr } = await server.output;
      return { code, stderr };
    },
  };
}

async function createPlan(served: Served, plan: unknown): Promise<string> {
  const created = await served.call('POST', '/v1/plans', { plan });
  expect(created.status).toBe(201);
  return created.body.plan.plan_id as string;
}

async function runsOf(served: Served, planId: string): Promise<RunDocument[]> {
  const page = await served.call('GET', `/v1/runs?plan_id=${planId}&limit=100`);
  expect(page.status).toBe(200);
  return page.body.items as RunDocument[];
}

/** Waits (bounded) until `done` holds for what `read` returns; returns the last value read. */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, boundMs: number): Promise<T> {
  const until = Date.now() + boundMs;
  let value = await read();
  while (!done(value) && Date.now() < until) {
    await sleep(100);
    value = await read();
  }
  return value;
}

describe.each(stores)('maestro serve with its runner on $name', ({ available, url }) => {
  it.skipIf(unavailable(available))(
    'runs the ticks of a schedule, and a SIGTERM finishes the run it drives before it exits',
    async () => {
      const storeUrl = url?.();
      const served = await serve(storeUrl);
      try {
        const planId = await createPlan(served, {
          name: 'ticking',
          steps: [
            { id: 'first', uses: 'noop', with: { outputs: { n: 1 } } },
            { id: 'nap', uses: 'sleep', needs: ['first'], with: { ms: 600 } },
          ],
        });
        const schedule = await served.call('POST', '/v1/schedules', {
          plan_id: planId,
          cron: '* * * * * *',
          // The scheduler looks once a second: a tick it sees over half an interval late still starts a run.
          catchup: 'one',
        });
        expect(schedule.status).toBe(201);
        const runs = await waitFor(
          () => runsOf(served, planId),
          (found) => found.filter((r) => r.status === 'succeeded').length >= 2,
          15_000,
        );
        expect(runs.filter((r) => r.status === 'succeeded').length).toBeGreaterThanOrEqual(2);
        expect(runs.every((r) => r.schedule_id === schedule.body.schedule_id)).toBe(true);
        // Stopped while a tick's run is (most likely) asleep: that run ends before serve does.
        await waitFor(
          () => runsOf(served, planId),
          (found) => found.some((r) => r.status === 'running'),
          3_000,
        );
        const stopped = await served.stop();
        expect(stopped.code).toBe(0);
        const store = await openStore(served.storeUrl);
        try {
          const left = (await store.listRuns({ plan_id: planId }, { limit: 100 })).items;
          // Nothing it held is left running; a tick fired as it stopped may wait, pending, for the next runner.
          expect(left.filter((r) => r.status === 'running')).toEqual([]);
          expect(left.filter((r) => isTerminalRunStatus(r.status)).every((r) => r.status === 'succeeded')).toBe(true);
        } finally {
          await store.close();
        }
      } finally {
        await served.stop();
        if (storeUrl) await dropMongoDatabase(storeUrl);
      }
    },
    45_000,
  );

  it.skipIf(unavailable(available))(
    'runs a run created without execute, and a run of manual steps is moved along by outside updates',
    async () => {
      const storeUrl = url?.();
      const served = await serve(storeUrl);
      try {
        const quickId = await createPlan(served, { name: 'quick', steps: [{ id: 'only', uses: 'noop' }] });
        const quick = await served.call('POST', '/v1/runs', { plan_id: quickId });
        expect(quick.status).toBe(201);
        const manualId = await createPlan(served, {
          name: 'checklist',
          steps: [
            { id: 'build', uses: 'manual' },
            { id: 'qa', uses: 'manual', needs: ['build'] },
          ],
        });
        const started = await served.call('POST', '/v1/runs', { plan_id: manualId });
        expect(started.status).toBe(201);
        const runId = started.body.run_id as string;
        const detail = async () => (await served.call('GET', `/v1/runs/${runId}`)).body;
        const stepIds = Object.fromEntries(
          ((await detail()).steps as Array<{ key: string; step_id: string }>).map((s) => [s.key, s.step_id]),
        );
        // The server's runner writes the same steps: an update that meets one of its writes gets 409 CONFLICT, which a
        // client retries (FerretDB refuses concurrent guarded writes to one document that way).
        const patch = async (key: string, body: unknown) => {
          for (let attempt = 1; ; attempt += 1) {
            const answer = await served.call('PATCH', `/v1/runs/${runId}/steps/${stepIds[key]}`, body);
            if (answer.status !== 409 || attempt === 10) return answer;
            await new Promise((done) => setTimeout(done, 200));
          }
        };
        expect((await patch('build', { status: 'running', logs_ref: 'https://ci.example/1' })).status).toBe(200);
        expect((await patch('build', { status: 'succeeded', outputs: { image: 'app:1' } })).status).toBe(200);
        expect((await patch('qa', { status: 'succeeded' })).status).toBe(200);
        const ended = await waitFor(detail, (d) => d.run.status === 'succeeded', 10_000);
        expect(ended.run.status).toBe('succeeded');
        expect(ended.steps.map((s: { key: string; status: string }) => `${s.key} ${s.status}`)).toEqual([
          'build succeeded',
          'qa succeeded',
        ]);
        const ran = await waitFor(
          async () => (await served.call('GET', `/v1/runs/${quick.body.run_id}`)).body.run as RunDocument,
          (run) => run.status === 'succeeded',
          10_000,
        );
        expect(ran.status).toBe('succeeded');
      } finally {
        await served.stop();
        if (storeUrl) await dropMongoDatabase(storeUrl);
      }
    },
    45_000,
  );

  it.skipIf(unavailable(available))('with --no-runner takes no run', async () => {
    const storeUrl = url?.();
    const served = await serve(storeUrl, ['--no-runner']);
    try {
      const planId = await createPlan(served, { name: 'left', steps: [{ id: 'only', uses: 'noop' }] });
      const started = await served.call('POST', '/v1/runs', { plan_id: planId });
      expect(started.status).toBe(201);
      await sleep(1_500);
      const run = (await served.call('GET', `/v1/runs/${started.body.run_id}`)).body.run as RunDocument;
      expect(run.status).toBe('pending');
      expect(run.lease).toBeUndefined();
    } finally {
      await served.stop();
      if (storeUrl) await dropMongoDatabase(storeUrl);
    }
  });
});

describe('maestro serve stopping while a run waits', () => {
  it('hands a run that does not end within the grace period back, its lease let go for the next runner', async () => {
    const served = await serve(undefined);
    try {
      const planId = await createPlan(served, { name: 'waiting', steps: [{ id: 'approve', uses: 'manual' }] });
      const started = await served.call('POST', '/v1/runs', { plan_id: planId });
      expect(started.status).toBe(201);
      const runId = started.body.run_id as string;
      const waiting = await waitFor(
        async () => (await served.call('GET', `/v1/runs/${runId}`)).body,
        (d) => d.steps[0].status === 'running',
        10_000,
      );
      expect(waiting.run.status).toBe('running');
      const stopping = Date.now();
      const stopped = await served.stop();
      expect(stopped.code).toBe(0);
      // The grace period is 10 s; a run that never ends does not hold serve past it.
      expect(Date.now() - stopping).toBeLessThan(20_000);
      const store = await openStore(served.storeUrl);
      try {
        const lease = {
          owner: 'next-runner',
          now: new Date().toISOString(),
          expires_at: new Date(Date.now() + 30_000).toISOString(),
        };
        const claimed = await store.claimRun(runId, lease);
        expect(claimed?.status).toBe('running');
        const [step] = await store.listSteps(runId);
        expect(step).toMatchObject({ status: 'running', lease: { owner: 'external' } });
      } finally {
        await store.close();
      }
    } finally {
      await served.stop();
    }
  }, 40_000);
});
