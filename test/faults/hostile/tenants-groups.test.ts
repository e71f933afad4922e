import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/generated/schemas.js';
import { openStore } from '../../../src/store/open.js';
import type { RunStore } from '../../../src/store/port.js';
import { startTestApi, TOKENS, type ApiClient } from '../../support/api-server.js';
import { dropMongoDatabase, unavailable } from '../../support/backends.js';
import { MAESTRO, MAESTRO_RUN, runCli } from '../../support/spawn-cli.js';
import { hostileStores, recordHostile, workspace } from './hostile-support.js';

const stores = hostileStores();

const noop: Plan = { name: 'quick', steps: [{ id: 'a', uses: 'noop' }] };
const manual: Plan = { name: 'waits', steps: [{ id: 'wait', uses: 'manual' }] };

/** Opens the store at `url`, the API on it, and cleans both (and a MongoDB database) whatever the test did. */
async function withApi(
  storeUrl: string,
  body: (api: ApiClient, store: RunStore) => Promise<void>,
  options: Parameters<typeof startTestApi>[1] = {},
): Promise<void> {
  const store = await openStore(storeUrl);
  const api = await startTestApi(store, options);
  try {
    await body(api, store);
  } finally {
    await api.close();
    await store.close();
    if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
  }
}

async function createPlan(api: ApiClient, token: string, plan: Plan): Promise<string> {
  const created = await api.request('POST', '/v1/plans', { token, body: { plan } });
  expect(created.status).toBe(201);
  return (created.body as { plan: { plan_id: string } }).plan.plan_id;
}

/** Every file under a directory, as text (the embedded store's files). */
function filesText(directory: string): string {
  if (!existsSync(directory)) return '';
  return readdirSync(directory)
    .map((entry) => join(directory, entry))
    .map((path) => (statSync(path).isDirectory() ? filesText(path) : readFileSync(path, 'latin1')))
    .join('\n');
}

describe.each(stores)('hostile: tenants and schedules on $name', ({ name, available, url }) => {
  it.skipIf(unavailable(available))(
    "a concurrency group is its owner's: another owner cannot cancel its runs, probe it with skip, or hold its slot",
    async () => {
      const cwd = workspace('groups');
      await withApi(url(cwd), async (api) => {
        const statuses: number[] = [];
        const start = async (token: string, planId: string, concurrency: Record<string, unknown>) => {
          const answer = await api.request('POST', '/v1/runs', { token, body: { plan_id: planId, concurrency } });
          statuses.push(answer.status);
          return answer;
        };
        const planA = await createPlan(api, TOKENS.teamA, noop);
        const planB = await createPlan(api, TOKENS.teamB, noop);
        const manualA = await createPlan(api, TOKENS.teamA, manual);
        const manualB = await createPlan(api, TOKENS.teamB, manual);

        // The slot: team-a's run, created first and never executed, must not hold team-b's group.
        await start(TOKENS.teamA, planA, { group: 'deploy', limit: 1 });
        const heldB = (await start(TOKENS.teamB, planB, { group: 'deploy', limit: 1 })).body as { run_id: string };
        const executed = await api.engine.executeRun(heldB.run_id, { wait: false });
        const slotKept = executed?.status === 'succeeded';

        // The probe: `skip` must answer for team-a's own group only.
        await start(TOKENS.teamB, manualB, { group: 'probe', limit: 1 });
        const probe = await start(TOKENS.teamA, manualA, { group: 'probe', limit: 1, on_conflict: 'skip' });
        const probeHeld = probe.status === 201;

        // The cancel: team-a's cancel_in_progress must not reach team-b's run.
        const victim = (await start(TOKENS.teamB, manualB, { group: 'prod', limit: 1 })).body as { run_id: string };
        await start(TOKENS.teamA, manualA, { group: 'prod', limit: 1, on_conflict: 'cancel_in_progress' });
        const after = (await api.request('GET', `/v1/runs/${victim.run_id}`, { token: TOKENS.teamB })).body as {
          run: { status: string; cancel_requested_at?: string };
        };
        const cancelHeld = after.run.status === 'pending' && after.run.cancel_requested_at === undefined;

        // Within one owner the group still works: team-b's second cancel_in_progress cancels its first run.
        await start(TOKENS.teamB, manualB, { group: 'prod', limit: 1, on_conflict: 'cancel_in_progress' });
        const own = (await api.request('GET', `/v1/runs/${victim.run_id}`, { token: TOKENS.teamB })).body as {
          run: { status: string; cancel_requested_at?: string };
        };

        const held = [slotKept, probeHeld, cancelHeld];
        recordHostile(`concurrency groups across owners (${name})`, {
          attempts: held.length,
          refused: held.filter(Boolean).length,
          server_errors: statuses.filter((s) => s >= 500).length,
          crashes: 0,
        });
        expect({ slotKept, probeHeld, cancelHeld }).toEqual({ slotKept: true, probeHeld: true, cancelHeld: true });
        expect(own.run.status === 'cancelled' || own.run.cancel_requested_at !== undefined).toBe(true);
        expect(statuses.filter((s) => s >= 500)).toEqual([]);
      });
    },
  );

  it.skipIf(unavailable(available))(
    "a schedule never stores a write-only input: a plain value is refused, a secret reference reaches the tick's run",
    async () => {
      const cwd = workspace('schedule-secrets');
      const storeUrl = url(cwd);
      const canary = `sched-canary-${Math.random().toString(36).slice(2)}`;
      process.env.MAESTRO_SECRET_HOSTILE_SCHEDULE_PASSWORD = canary;
      try {
        await withApi(storeUrl, async (api, store) => {
          const seen: unknown[] = [];
          api.engine.registerHandler('check-password', (context) => {
            seen.push(context.args.password);
            return { matches: context.args.password === canary };
          });
          const planId = await createPlan(api, TOKENS.teamA, {
            name: 'with-password',
            inputs: {
              type: 'object',
              properties: { password: { type: 'string', writeOnly: true }, region: { type: 'string' } },
              required: ['password'],
            },
            steps: [
              {
                id: 'use',
                uses: 'handler',
                with: { handler: 'check-password', password: '${{ inputs.password }}' },
              },
            ],
          });
          const plain = await api.request('POST', '/v1/schedules', {
            body: { plan_id: planId, cron: '0 3 * * *', inputs: { password: canary, region: 'eu' } },
          });
          const byReference = await api.request('POST', '/v1/schedules', {
            body: {
              plan_id: planId,
              cron: '0 3 * * *',
              inputs: { region: 'eu' },
              secret_inputs: { password: 'HOSTILE_SCHEDULE_PASSWORD' },
            },
          });
          const notWriteOnly = await api.request('POST', '/v1/schedules', {
            body: {
              plan_id: planId,
              cron: '0 3 * * *',
              secret_inputs: { region: 'HOSTILE_SCHEDULE_PASSWORD' },
            },
          });
          expect(byReference.status).toBe(201);
          const scheduleId = (byReference.body as { schedule_id: string }).schedule_id;
          const triggered = await api.request('POST', `/v1/schedules/${scheduleId}/trigger`);
          expect(triggered.status).toBe(201);
          const runId = (triggered.body as { run_id: string }).run_id;
          const ran = await api.engine.executeRun(runId);
          const detail = (await api.request('GET', `/v1/runs/${runId}`)).body as {
            run: { inputs: Record<string, unknown> };
            steps: Array<{ outputs?: Record<string, unknown> }>;
          };
          // A secret the server does not have: the trigger says which, and is no server error.
          const unset = await api.request('POST', '/v1/schedules', {
            body: { plan_id: planId, cron: '0 3 * * *', secret_inputs: { password: 'HOSTILE_UNSET_SECRET' } },
          });
          const missing = await api.request('POST', `/v1/schedules/${unset.body.schedule_id}/trigger`);
          const storedSchedules = JSON.stringify(await store.listSchedules({}, { limit: 50 }));
          const storedRun = JSON.stringify(await store.getRun(runId));
          const onDisk = filesText(join(cwd, '.maestro'));

          const refusedPlain = plain.status === 400 && plain.body?.field === '$.inputs.password';
          const refusedOther = notWriteOnly.status === 400;
          const refusedMissing = missing.status === 409 && missing.body?.code === 'SECRET_MISSING';
          recordHostile(`write-only inputs in schedules (${name})`, {
            attempts: 3,
            refused: [refusedPlain, refusedOther, refusedMissing].filter(Boolean).length,
            server_errors: [plain, byReference, notWriteOnly, triggered, unset, missing].filter((r) => r.status >= 500)
              .length,
            crashes: 0,
          });
          expect(plain.status).toBe(400);
          expect(plain.body).toMatchObject({ code: 'INPUT_INVALID', field: '$.inputs.password' });
          expect(notWriteOnly.status).toBe(400);
          expect(notWriteOnly.body).toMatchObject({ code: 'INPUT_INVALID', field: '$.secret_inputs.region' });
          expect(missing.status).toBe(409);
          expect(missing.body).toMatchObject({ code: 'SECRET_MISSING' });
          expect(missing.body.detail).toContain('HOSTILE_UNSET_SECRET');
          expect(storedSchedules).not.toContain(canary);
          expect(storedRun).not.toContain(canary);
          expect(onDisk).not.toContain(canary);
          expect(detail.run.inputs).toMatchObject({ password: '***', region: 'eu' });
          expect(ran?.status).toBe('succeeded');
          expect(seen).toEqual([canary]);
          expect(detail.steps[0]?.outputs).toEqual({ matches: true });
        });
      } finally {
        delete process.env.MAESTRO_SECRET_HOSTILE_SCHEDULE_PASSWORD;
      }
    },
  );

  it.skipIf(unavailable(available))(
    'prune: an age past the date range is INPUT_INVALID naming --older-than; --include-provenance removes the OpenLineage file',
    async () => {
      const cwd = workspace('prune');
      const storeUrl = url(cwd);
      const env = { MAESTRO_STORE: storeUrl };
      try {
        writeFileSync(
          join(cwd, 'plan.json'),
          JSON.stringify({ name: 'lineage', hooks: ['openlineage'], steps: [{ id: 'a', uses: 'noop' }] }),
        );
        const ran = await runCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd, env });
        expect(ran.code, ran.stderr).toBe(0);
        const lineageDir = join(cwd, '.maestro', 'openlineage');
        const lineageFiles = readdirSync(lineageDir).filter((f) => f.endsWith('.jsonl'));
        expect(lineageFiles).toHaveLength(1);
        const ages = ['99999999999999d', '9'.repeat(400) + 'w', '1000000000000000s'];
        const tooOld = [];
        for (const age of ages)
          tooOld.push(await runCli(MAESTRO, ['prune', '--older-than', age], { cwd, env, timeoutMs: 30_000 }));
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        const pruned = await runCli(MAESTRO, ['prune', '--older-than', '1s', '--include-provenance', '--json'], {
          cwd,
          env,
        });
        const lineageLeft = readdirSync(lineageDir).filter((f) => f.endsWith('.jsonl'));
        recordHostile(`prune ages and provenance (${name})`, {
          attempts: ages.length + 1,
          refused: tooOld.filter((r) => r.code === 2).length + (lineageLeft.length === 0 ? 1 : 0),
          server_errors: 0,
          crashes: tooOld.filter((r) => r.code !== 2 && r.code !== 0).length,
          hangs: tooOld.filter((r) => r.signal !== null).length,
        });
        for (const result of tooOld) {
          expect(result.code).toBe(2);
          expect(result.stderr).toContain('--older-than');
        }
        expect(pruned.code).toBe(0);
        expect((JSON.parse(pruned.stdout) as { removed: { runs: number } }).removed.runs).toBe(1);
        expect(lineageLeft).toEqual([]);
      } finally {
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
  );
});

describe('hostile: schedule interval over the API', () => {
  it('a cron firing more often than the minimum is refused naming $.cron; the minimum is configurable', async () => {
    const cwd = workspace('interval');
    const storeUrl = `sqlite://${join(cwd, '.maestro', 'maestro.db')}`;
    const fast = ['* * * * * *', '*/10 * * * * *', '0,30 * * * * *', '0,59 * * 1 1 *'];
    const fine = ['* * * * *', '0 * * * * *', '*/5 * * * *'];
    const answers: Array<{ status: number; body: any }> = [];
    await withApi(storeUrl, async (api) => {
      const planId = await createPlan(api, TOKENS.teamA, noop);
      for (const cron of [...fast, ...fine])
        answers.push(await api.request('POST', '/v1/schedules', { body: { plan_id: planId, cron } }));
    });
    // A server configured for 10 s takes a cron of every 10 s, and still refuses every second.
    const configured: Array<{ status: number }> = [];
    await withApi(
      `sqlite://${join(workspace('interval-10s'), '.maestro', 'maestro.db')}`,
      async (api) => {
        const planId = await createPlan(api, TOKENS.teamA, noop);
        for (const cron of ['*/10 * * * * *', '* * * * * *'])
          configured.push(await api.request('POST', '/v1/schedules', { body: { plan_id: planId, cron } }));
      },
      { scheduleMinIntervalMs: 10_000 },
    );
    const refusedFast = answers.slice(0, fast.length);
    recordHostile('schedule faster than the minimum interval', {
      attempts: fast.length,
      refused: refusedFast.filter((a) => a.status === 400 && a.body?.field === '$.cron').length,
      server_errors: [...answers, ...configured].filter((a) => a.status >= 500).length,
      crashes: 0,
    });
    for (const answer of refusedFast) expect(answer.body).toMatchObject({ code: 'INPUT_INVALID', field: '$.cron' });
    expect(answers.slice(fast.length).map((a) => a.status)).toEqual(fine.map(() => 201));
    expect(configured.map((a) => a.status)).toEqual([201, 400]);
  });
});
