import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  dropMongoDatabase,
  freshMongoUrl,
  mongoStoreEntries,
  requireBase,
  unavailable,
} from '../../support/backends.js';
import { DEFAULT_STORE_URL } from '../../../src/store/open.js';
import { MAESTRO, MAESTRO_RUN, runCli, startServe } from '../../support/spawn-cli.js';
import { recordHostile, workspace } from './hostile-support.js';

const TOKEN = 'linear-bounds-token-0123456789';
const HEADERS = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

// The embedded store the binaries open by default (relative to their working directory), SQLite as well when it is
// not that default, and both MongoDB-wire servers.
const SQLITE_URL = 'sqlite://.maestro/maestro.db';
const stores = [
  { name: `embedded (${DEFAULT_STORE_URL.split(':')[0]})`, available: true, url: () => DEFAULT_STORE_URL },
  ...(DEFAULT_STORE_URL.startsWith('sqlite:') ? [] : [{ name: 'sqlite', available: true, url: () => SQLITE_URL }]),
  ...mongoStoreEntries().map(({ name, base }) => ({
    name,
    available: base !== undefined,
    url: () => freshMongoUrl(requireBase(base)),
  })),
];

/** Arrays nested `depth` deep around one string: each level doubles the work of a walk that visits an array twice. */
function nestedArrays(depth: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

/** Arrays and objects alternating, `arrays` arrays deep: the shape a walk doubling per array ancestor pays for. */
function arraysThroughObjects(arrays: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < arrays; i += 1) value = [{ a: value, b: i }];
  return value;
}

interface Timed {
  status: number;
  ms: number;
  body: any;
}

/** One request, abandoned (counted as a hang: status 0) when it does not answer within `boundMs`. */
async function timedRequest(url: string, init: RequestInit, boundMs: number): Promise<Timed> {
  const started = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(boundMs) });
    const text = await response.text();
    return { status: response.status, ms: performance.now() - started, body: text ? JSON.parse(text) : undefined };
  } catch {
    return { status: 0, ms: performance.now() - started, body: undefined };
  }
}

/** Probes /healthz every 100 ms until stopped: the slowest answer, and how many did not answer within 2 s. */
function healthProbe(base: string): { stop: () => Promise<{ slowestMs: number; unanswered: number }> } {
  const probing = { on: true };
  let slowestMs = 0;
  let unanswered = 0;
  const loop = (async () => {
    while (probing.on) {
      const probe = await timedRequest(`${base}/healthz`, {}, 2_000);
      if (probe.status !== 200) unanswered += 1;
      slowestMs = Math.max(slowestMs, probe.ms);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      probing.on = false;
      await loop;
      return { slowestMs, unanswered };
    },
  };
}

async function stopServer(server: Awaited<ReturnType<typeof startServe>>['server']): Promise<boolean> {
  server.kill('SIGTERM');
  const ended = await Promise.race([server.output.then(() => true), sleep(10_000).then(() => false)]);
  if (!ended) server.kill('SIGKILL');
  await server.output;
  return ended;
}

async function waitForRunEnd(base: string, runId: string, boundMs: number): Promise<any> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const detail = await timedRequest(`${base}/v1/runs/${runId}`, { headers: HEADERS }, 5_000);
    const status = detail.body?.run?.status as string | undefined;
    if (status && ['succeeded', 'failed', 'cancelled'].includes(status)) return detail.body;
    if (Date.now() > deadline) return detail.body;
    await sleep(200);
  }
}

function startServer(cwd: string, storeUrl: string) {
  writeFileSync(
    join(cwd, 'tokens.json'),
    JSON.stringify({ tokens: [{ token: TOKEN, owner: 'team-a', role: 'runner' }] }),
  );
  return startServe(['--tokens', 'tokens.json', '--store', storeUrl, '--no-ui', '--log-level', 'silent'], {
    cwd,
    timeoutMs: 280_000,
  });
}

describe.each(stores)('hostile: linear-time checks and bounded outputs on $name', ({ name, available, url }) => {
  it.skipIf(unavailable(available))(
    'nested arrays in a plan, run inputs, step outputs and maestro-run --inputs answer in time linear in their size, /healthz stays responsive',
    async () => {
      const cwd = workspace('linear');
      const storeUrl = url();
      const results: Timed[] = [];
      const scaling: Record<number, number> = {};
      let health: { slowestMs: number; unanswered: number };
      let runEnd: any;
      let stoppedOnTerm: boolean;
      try {
        const { server, url: base } = await startServer(cwd, storeUrl);
        try {
          const probe = healthProbe(base);
          const post = (path: string, body: unknown, boundMs = 15_000) =>
            timedRequest(`${base}${path}`, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) }, boundMs);
          const noopPlan = (name: string, outputs: unknown) => ({
            plan: { name, steps: [{ id: 'a', uses: 'noop', with: { outputs } }] },
          });
          // The shapes: 33 arrays deep in a plan's `with` (under the plan depth limit of 96), and arrays
          // through objects.
          results.push(await post('/v1/plans', noopPlan('arrays-33', { v: nestedArrays(33) })));
          results.push(await post('/v1/plans', noopPlan('arrays-objects', { v: arraysThroughObjects(20) })));
          // Run inputs 30 arrays deep, handed to a noop step as its outputs: the run, the step and its events
          // all store them.
          const echo = await post('/v1/plans', {
            plan: {
              name: 'echo',
              inputs: { type: 'object' },
              steps: [{ id: 'a', uses: 'noop', with: { outputs: { v: '${{ inputs.v }}' } } }],
            },
          });
          results.push(echo);
          const run = await post('/v1/runs', {
            plan_id: echo.body?.plan?.plan_id,
            inputs: { v: nestedArrays(30) },
            execute: true,
          });
          results.push(run);
          if (run.status === 201) runEnd = await waitForRunEnd(base, run.body.run_id as string, 20_000);
          // Linear: twice the depth costs about twice as much, not 2^16 times as much.
          for (const depth of [16, 32]) {
            const timed = await post('/v1/plans', noopPlan(`scale-${depth}`, { v: nestedArrays(depth) }));
            results.push(timed);
            scaling[depth] = timed.ms;
          }
          health = await probe.stop();
        } finally {
          stoppedOnTerm = await stopServer(server);
        }
        // The command line: inputs of arrays 30 deep from a file.
        writeFileSync(join(cwd, 'inputs.json'), JSON.stringify({ v: nestedArrays(30) }));
        writeFileSync(
          join(cwd, 'plan.json'),
          JSON.stringify({
            name: 'cli-echo',
            inputs: { type: 'object' },
            steps: [{ id: 'a', uses: 'noop', with: { outputs: { v: '${{ inputs.v }}' } } }],
          }),
        );
        const cli = await runCli(MAESTRO_RUN, ['plan.json', '--inputs', 'inputs.json'], {
          cwd,
          env: { MAESTRO_STORE: storeUrl },
          timeoutMs: 30_000,
        });
        const hangs =
          results.filter((r) => r.status === 0).length +
          health.unanswered +
          (cli.signal ? 1 : 0) +
          (runEnd?.run?.status === 'succeeded' ? 0 : 1) +
          (stoppedOnTerm ? 0 : 1);
        recordHostile(`nested arrays, linear time (${name})`, {
          attempts: results.length + 1,
          refused: results.filter((r) => r.status >= 400 && r.status < 500).length,
          server_errors: results.filter((r) => r.status >= 500).length,
          crashes: cli.code !== null && cli.code !== 0 && cli.code !== 2 ? 1 : 0,
          hangs,
          stores_open: `healthz_slowest_ms=${health.slowestMs.toFixed(0)} depth16_ms=${scaling[16]?.toFixed(0)} depth32_ms=${scaling[32]?.toFixed(0)}`,
        });
        // Valid plans and inputs are accepted, quickly; nothing answers 5xx or hangs.
        expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
        expect(results.every((r) => r.ms < 10_000)).toBe(true);
        expect(runEnd?.run?.status).toBe('succeeded');
        expect(runEnd?.steps?.[0]?.outputs).toEqual({ v: nestedArrays(30) });
        expect(cli.code).toBe(0);
        expect(health.unanswered).toBe(0);
        expect(stoppedOnTerm).toBe(true);
        // Exponential work is 65,536 times slower at depth 32 than at 16; linear is about twice (margin for a
        // busy machine).
        expect(scaling[32]!).toBeLessThan(8 * scaling[16]! + 1_000);
      } finally {
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
    200_000,
  );

  it.skipIf(unavailable(available))(
    'outputs gathered past the document limit (a foreach group, the run outputs) end the step and the run with OUTPUT_TOO_LARGE',
    async () => {
      const cwd = workspace('gathered');
      const storeUrl = url();
      const ends: any[] = [];
      let stoppedOnTerm: boolean;
      try {
        const { server, url: base } = await startServer(cwd, storeUrl);
        try {
          const post = (path: string, body: unknown) =>
            timedRequest(`${base}${path}`, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) }, 15_000);
          // Each noop returns just under the 1 MiB output limit; ten of them gathered pass the 8 MiB document limit.
          const megabyte = "${{ format('{0}{0}{0}{0}', inputs.blob) }}";
          const inputs = { blob: 'x'.repeat(250_000) };
          const fanout = await post('/v1/plans', {
            plan: {
              name: 'gathered-foreach',
              inputs: { type: 'object' },
              steps: [
                {
                  id: 'fan',
                  uses: 'noop',
                  foreach: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                  with: { outputs: { blob: megabyte } },
                },
              ],
            },
          });
          const steps = Array.from({ length: 10 }, (_, i) => ({
            id: `s${i}`,
            uses: 'noop',
            with: { outputs: { blob: megabyte } },
          }));
          const runOutputs = await post('/v1/plans', {
            plan: {
              name: 'gathered-run-outputs',
              inputs: { type: 'object' },
              outputs: Object.fromEntries(steps.map((step) => [step.id, `\${{ steps.${step.id}.outputs.blob }}`])),
              steps,
            },
          });
          for (const plan of [fanout, runOutputs]) {
            expect(plan.status).toBe(201);
            const run = await post('/v1/runs', { plan_id: plan.body.plan.plan_id, inputs, execute: true });
            expect(run.status).toBe(201);
            ends.push(await waitForRunEnd(base, run.body.run_id as string, 60_000));
          }
        } finally {
          stoppedOnTerm = await stopServer(server);
        }
        const [foreachEnd, outputsEnd] = ends;
        const fan = foreachEnd?.steps?.find((step: any) => step.key === 'fan');
        const coded = [
          foreachEnd?.run?.status === 'failed' &&
            fan?.status === 'failed' &&
            fan?.error_info?.code === 'output_too_large',
          outputsEnd?.run?.status === 'failed' && outputsEnd?.run?.error_info?.code === 'output_too_large',
        ];
        recordHostile(`outputs gathered past the document limit (${name})`, {
          attempts: 2,
          refused: coded.filter(Boolean).length,
          server_errors: 0,
          crashes: stoppedOnTerm ? 0 : 1,
          hangs: ends.filter((end) => !['succeeded', 'failed', 'cancelled'].includes(end?.run?.status)).length,
        });
        expect(foreachEnd?.run?.status).toBe('failed');
        expect(fan).toMatchObject({ status: 'failed', error_info: { code: 'output_too_large' } });
        expect(outputsEnd?.run).toMatchObject({ status: 'failed', error_info: { code: 'output_too_large' } });
        expect(stoppedOnTerm).toBe(true);
      } finally {
        if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
      }
    },
    200_000,
  );
});

describe('hostile: plans of groups nested 1,000 and 5,000 deep', () => {
  it('are PLAN_INVALID naming the path, over the API and from maestro validate and maestro-run', async () => {
    const cwd = workspace('nested-groups');
    const planText = (depth: number) =>
      `{"name":"deep","steps":[${'{"id":"g","steps":['.repeat(depth)}{"id":"leaf","uses":"noop"}${']}'.repeat(depth)}]}`;
    const answers: Array<{ status: number; code?: string; path?: string }> = [];
    const { server, url: base } = await startServer(cwd, 'memory://');
    try {
      for (const depth of [1_000, 5_000]) {
        const response = await timedRequest(
          `${base}/v1/plans`,
          { method: 'POST', headers: HEADERS, body: `{"plan":${planText(depth)}}` },
          15_000,
        );
        answers.push({ status: response.status, code: response.body?.code, path: response.body?.field });
      }
    } finally {
      await stopServer(server);
    }
    const commands: Array<{ code: number | null; stdout: string; stderr: string }> = [];
    for (const depth of [1_000, 5_000]) {
      writeFileSync(join(cwd, `deep-${depth}.json`), planText(depth));
      commands.push(await runCli(MAESTRO, ['validate', `deep-${depth}.json`, '--json'], { cwd, timeoutMs: 30_000 }));
      commands.push(
        await runCli(MAESTRO_RUN, [`deep-${depth}.json`], {
          cwd,
          env: { MAESTRO_STORE: 'memory://' },
          timeoutMs: 30_000,
        }),
      );
    }
    recordHostile('plans of groups nested 1,000 and 5,000 deep', {
      attempts: answers.length + commands.length,
      refused: answers.filter((a) => a.status === 400).length + commands.filter((c) => c.code === 2).length,
      server_errors: answers.filter((a) => a.status >= 500).length,
      crashes: commands.filter((c) => c.code !== 2).length,
      hangs: answers.filter((a) => a.status === 0).length + commands.filter((c) => c.code === null).length,
    });
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 400, code: 'PLAN_INVALID' });
      // The path names where the plan nests too deep, inside the body's plan.
      expect(answer.path).toMatch(/^\$\.plan\.steps\[0\](\.steps\[0\])+/);
    }
    for (const command of commands) {
      expect(command.code).toBe(2);
      expect(command.stdout + command.stderr).toContain('PLAN_INVALID');
      expect(command.stdout + command.stderr).toMatch(/\$\.steps\[0\](\.steps\[0\])+/);
    }
  }, 120_000);
});

describe('hostile: a plan input schema whose $refs multiply the work', () => {
  /** a(k) tries a(k-1) twice (anyOf of two branches through it): 2^k checks of one input, in a schema of 100 bytes a level. */
  function doublingSchema(levels: number): Record<string, unknown> {
    const defs: Record<string, unknown> = { a0: { type: 'string', minLength: 5 } };
    for (let i = 1; i <= levels; i += 1)
      defs[`a${i}`] = {
        anyOf: [{ allOf: [{ $ref: `#/$defs/a${i - 1}` }, { type: 'number' }] }, { $ref: `#/$defs/a${i - 1}` }],
      };
    return { type: 'object', $defs: defs, properties: { v: { $ref: `#/$defs/a${levels}` } } };
  }

  it('is PLAN_INVALID naming the path (and a recursive one too), and /healthz stays responsive', async () => {
    const cwd = workspace('schema-refs');
    const { server, url: base } = await startServer(cwd, 'memory://');
    const answers: Timed[] = [];
    let health: { slowestMs: number; unanswered: number };
    try {
      const probe = healthProbe(base);
      const post = (path: string, body: unknown) =>
        timedRequest(`${base}${path}`, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) }, 15_000);
      const recursive = {
        type: 'object',
        $defs: {
          tree: { type: 'array', items: { anyOf: [{ $ref: '#/$defs/tree', minItems: 9 }, { $ref: '#/$defs/tree' }] } },
        },
        properties: { v: { $ref: '#/$defs/tree' } },
      };
      for (const inputs of [doublingSchema(40), recursive]) {
        const plan = await post('/v1/plans', { plan: { name: 'refs', inputs, steps: [{ id: 'a', uses: 'noop' }] } });
        answers.push(plan);
        // Were the plan taken, its first run would check its inputs against the schema: 2^40 checks.
        if (plan.status === 201) {
          const value = inputs === recursive ? nestedArrays(30) : 'abc';
          answers.push(await post('/v1/runs', { plan_id: plan.body.plan.plan_id, inputs: { v: value } }));
        }
      }
      health = await probe.stop();
    } finally {
      await stopServer(server);
    }
    recordHostile('plan input schema with multiplying $refs', {
      attempts: answers.length,
      refused: answers.filter((a) => a.status >= 400 && a.status < 500).length,
      server_errors: answers.filter((a) => a.status >= 500).length,
      crashes: 0,
      hangs: answers.filter((a) => a.status === 0).length + health.unanswered,
    });
    expect(answers.map((a) => [a.status, a.body?.code])).toEqual([
      [400, 'PLAN_INVALID'],
      [400, 'PLAN_INVALID'],
    ]);
    expect(answers.map((a) => a.body?.field)).toEqual([
      expect.stringMatching(/^\$\.inputs\.\$defs\.a\d+/),
      expect.stringMatching(/^\$\.inputs\.\$defs\.tree\.items\.anyOf\[\d\]\.\$ref$/),
    ]);
    expect(health.unanswered).toBe(0);
  }, 120_000);
});

describe('hostile: a plan input schema with a backtracking pattern', () => {
  it('checks inputs in linear time (a pattern that cannot be is PLAN_INVALID), and /healthz stays responsive', async () => {
    const cwd = workspace('schema-pattern');
    const { server, url: base } = await startServer(cwd, 'memory://');
    const answers: Timed[] = [];
    let health: { slowestMs: number; unanswered: number };
    try {
      const probe = healthProbe(base);
      const post = (path: string, body: unknown) =>
        timedRequest(`${base}${path}`, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) }, 15_000);
      const planWith = (pattern: string) => ({
        plan: {
          name: 'pattern',
          inputs: { type: 'object', properties: { v: { type: 'string', pattern } } },
          steps: [{ id: 'a', uses: 'noop' }],
        },
      });
      // A backtracking engine tries 2^40 ways to match these over 40 characters.
      for (const pattern of ['^(a|a)*$', '^(a+)+$', '^(\\w+\\s?)*$']) {
        const plan = await post('/v1/plans', planWith(pattern));
        answers.push(plan);
        if (plan.status === 201)
          answers.push(
            await post('/v1/runs', { plan_id: plan.body.plan.plan_id, inputs: { v: `${'a'.repeat(40)}!` } }),
          );
      }
      // A backreference has no linear-time check: refused when the plan is created.
      answers.push(await post('/v1/plans', planWith('^(a+)\\1$')));
      const ordinary = await post('/v1/plans', planWith('^[a-z]+(-[a-z]+)*$'));
      const good = await post('/v1/runs', { plan_id: ordinary.body?.plan?.plan_id, inputs: { v: 'linear-time' } });
      health = await probe.stop();
      recordHostile('plan input schema with a backtracking pattern', {
        attempts: answers.length,
        refused: answers.filter((a) => a.status >= 400 && a.status < 500).length,
        server_errors: answers.filter((a) => a.status >= 500).length,
        crashes: 0,
        hangs: answers.filter((a) => a.status === 0).length + health.unanswered,
      });
      expect(answers.map((a) => [a.status, a.body?.code])).toEqual([
        [201, undefined],
        [400, 'INPUT_INVALID'],
        [201, undefined],
        [400, 'INPUT_INVALID'],
        [201, undefined],
        [400, 'INPUT_INVALID'],
        [400, 'PLAN_INVALID'],
      ]);
      expect(answers.every((a) => a.ms < 5_000)).toBe(true);
      expect(answers[6]!.body.detail).toContain('linear time');
      expect([ordinary.status, good.status]).toEqual([201, 201]);
      expect(health.unanswered).toBe(0);
    } finally {
      await stopServer(server);
    }
  }, 120_000);
});
