import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, type TestContext } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { MAESTRO, MAESTRO_RUN, REPO_ROOT, runCli, startCli, startServe } from '../support/spawn-cli.js';
import { parsePrometheusText, prometheusParser, sumOf, type MetricFamily } from './prometheus-text.js';

const python = prometheusParser();

/** Outside CI a machine without the parser skips; in CI it is a failure (never a pass). */
function parserOrSkip(context: TestContext): string {
  if (python) return python;
  if (process.env.CI) throw new Error('CI needs the Prometheus text parser: bash .ci/prometheus-parser.sh');
  context.skip();
  throw new Error('unreachable');
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The metrics the README documents: name -> type and label names. */
function documentedMetrics(): Map<string, { type: string; labels: string[] }> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Observability'));
  const rows = [...section.matchAll(/^\| `(maestro_\w+)` \| (\w+) \| ([^|]*) \|/gm)];
  return new Map(
    rows.map(([, name, type, labels]) => [
      name!,
      { type: type!, labels: [...labels!.matchAll(/`(\w+)`/g)].map((m) => m[1]!).sort() },
    ]),
  );
}

function expectMatchesReadme(families: Map<string, MetricFamily>): void {
  const documented = documentedMetrics();
  const exposed = [...families.values()].filter((family) => family.name.startsWith('maestro_'));
  expect(exposed.map((family) => family.name).sort()).toEqual([...documented.keys()].sort());
  for (const family of exposed) {
    const doc = documented.get(family.name)!;
    expect(`${family.name} ${family.type}`).toBe(`${family.name} ${doc.type}`);
    for (const sample of family.samples) {
      const labels = Object.keys(sample.labels).filter((label) => label !== 'le');
      expect(`${sample.name} {${labels.sort().join(',')}}`).toBe(`${sample.name} {${doc.labels.join(',')}}`);
    }
  }
}

describe('Prometheus metrics', () => {
  it('a worker counts the sample plans it ran, as its store records them, and the README lists every metric', async (context) => {
    const parser = parserOrSkip(context);
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-metrics-'));
    const plans = ['hello', 'diamond', 'fan-out', 'budget'];
    for (const plan of plans) {
      const created = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', `${plan}.json`), '--detach'], { cwd });
      expect(created.code, created.stderr).toBe(0);
    }
    const worker = startCli(MAESTRO, ['worker', '--metrics-port', '0'], { cwd, timeoutMs: 120_000 });
    let stderr = '';
    worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const announced = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/;
    for (let i = 0; !announced.test(stderr) && i < 500; i += 1) await sleep(20);
    const url = announced.exec(stderr)![1]!;

    // Four runs and fan-out's child run end; then nothing is held.
    let families = new Map<string, MetricFamily>();
    for (let i = 0; i < 600; i += 1) {
      families = parsePrometheusText(parser, await scrape(url));
      const finished = sumOf(families, 'maestro_runs_finished_total', 'maestro_runs_finished_total');
      if (finished === 5 && sumOf(families, 'maestro_runs_held', 'maestro_runs_held') === 0) break;
      await sleep(100);
    }
    worker.kill('SIGTERM');
    expect((await worker.output).code).toBe(0);
    expectMatchesReadme(families);

    const store = await openStore(`sqlite://${join(cwd, '.maestro', 'maestro.db')}`);
    try {
      const runs = (await store.listRuns({}, { limit: 100 })).items;
      expect(runs).toHaveLength(5);
      const count = (name: string, sample: string, labels: Record<string, string> = {}) =>
        sumOf(families, name, sample, labels);
      expect(
        count('maestro_runs_finished_total', 'maestro_runs_finished_total', { plan: 'hello', status: 'succeeded' }),
      ).toBe(1);
      for (const run of runs) {
        const labels = { plan: run.plan_name, status: run.status };
        expect(count('maestro_runs_finished_total', 'maestro_runs_finished_total', labels), run.plan_name).toBe(1);
        expect(count('maestro_run_duration_seconds', 'maestro_run_duration_seconds_count', labels)).toBe(1);
        expect(count('maestro_runs_started_total', 'maestro_runs_started_total', { plan: run.plan_name })).toBe(1);
      }
      // Every attempt outcome the events record, by step kind.
      const expected = new Map<string, number>();
      const add = (kind: string, outcome: string) =>
        expected.set(`${kind}/${outcome}`, (expected.get(`${kind}/${outcome}`) ?? 0) + 1);
      let hello = 0;
      for (const run of runs) {
        const kinds = new Map((await store.listSteps(run.run_id)).map((step) => [step.step_id, step.uses ?? '']));
        for (const event of await store.listEvents(run.run_id, 0, 10_000)) {
          const kind = kinds.get(event.step_id ?? '') ?? '';
          if (event.data.attempt === undefined || kind === '') continue;
          const outcome = {
            'step.succeeded': 'succeeded',
            'step.failed': 'failed',
            'step.retrying': 'retried',
            'step.cancelled': 'cancelled',
          }[event.type as string];
          if (!outcome) continue;
          add(kind, outcome);
          if (run.plan_name === 'hello' && outcome === 'succeeded') hello += 1;
        }
      }
      expect(hello).toBe(2);
      expect(expected.get('exec/retried')).toBe(1);
      const exposed = new Map<string, number>();
      for (const sample of families.get('maestro_step_attempts_total')!.samples)
        exposed.set(`${sample.labels.kind}/${sample.labels.outcome}`, sample.value);
      expect(exposed).toEqual(expected);
      expect(count('maestro_step_retries_total', 'maestro_step_retries_total', { kind: 'exec' })).toBe(1);
      const attempts = [...expected.values()].reduce((a, b) => a + b, 0);
      expect(count('maestro_step_attempt_duration_seconds', 'maestro_step_attempt_duration_seconds_count')).toBe(
        attempts,
      );
      expect(count('maestro_step_queue_wait_seconds', 'maestro_step_queue_wait_seconds_count')).toBe(attempts);
      expect(
        count('maestro_budget_breaches_total', 'maestro_budget_breaches_total', {
          budget: 'max_cost',
          mode: 'enforce',
        }),
      ).toBe(1);
      expect(count('maestro_lease_takeovers_total', 'maestro_lease_takeovers_total')).toBe(0);
      for (const operation of ['claimRun', 'claimStep', 'updateStep', 'appendEvent'])
        expect(
          count('maestro_store_operation_duration_seconds', 'maestro_store_operation_duration_seconds_count', {
            operation,
          }),
        ).toBeGreaterThan(0);
      expect(families.get('process_resident_memory_bytes')?.type).toBe('gauge');
      expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    } finally {
      await store.close();
    }
  });

  it('maestro serve answers /metrics to a token only, counting the runs and hook deliveries it made', async (context) => {
    const parser = parserOrSkip(context);
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-metrics-serve-'));
    const token = 'metrics-reader-token-0123456789';
    writeFileSync(join(cwd, 'tokens.json'), JSON.stringify({ tokens: [{ token, owner: 'ops', role: 'runner' }] }));
    const { server, url } = await startServe(['--store', 'memory://', '--tokens', 'tokens.json'], { cwd });
    try {
      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      const plan = { name: 'served', hooks: ['claim-ledger'], steps: [{ id: 'a', uses: 'noop' }] };
      const created = (await (
        await fetch(`${url}/v1/plans`, { method: 'POST', headers: auth, body: JSON.stringify({ plan }) })
      ).json()) as { plan: { plan_id: string } };
      const started = await fetch(`${url}/v1/runs`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ plan_id: created.plan.plan_id, execute: true }),
      });
      expect(started.status).toBe(201);
      let families = new Map<string, MetricFamily>();
      for (let i = 0; i < 300; i += 1) {
        families = parsePrometheusText(parser, await scrape(`${url}/metrics`, auth));
        if (sumOf(families, 'maestro_hook_deliveries_total', 'maestro_hook_deliveries_total') > 0) break;
        await sleep(50);
      }
      expectMatchesReadme(families);
      expect(
        sumOf(families, 'maestro_runs_finished_total', 'maestro_runs_finished_total', {
          plan: 'served',
          status: 'succeeded',
        }),
      ).toBe(1);
      expect(
        sumOf(families, 'maestro_hook_deliveries_total', 'maestro_hook_deliveries_total', {
          hook: 'claim-ledger',
          outcome: 'failed',
        }),
      ).toBe(0);
      expect(
        sumOf(families, 'maestro_hook_deliveries_total', 'maestro_hook_deliveries_total', {
          hook: 'claim-ledger',
          outcome: 'ok',
        }),
      ).toBeGreaterThan(0);
    } finally {
      server.kill('SIGTERM');
      await server.output;
    }
  });
});
