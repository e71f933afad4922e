import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/spawn-cli.js';

// The embedded stores the bench measures: SQLite in memory, and SQLite files with synchronous full and normal.
const EMBEDDED = ['memory', 'sqlite-full', 'sqlite-normal'];

describe('bench (smoke run, no timing assertions)', () => {
  it('runs every workload on tiny sizes and writes results with every field', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'maestro-bench-')), 'results.json');
    const stdout = execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'dist', 'bench', 'run.js'), '--smoke', `--out=${out}`],
      { encoding: 'utf8', timeout: 240_000 },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      machine: object;
      results: Array<Record<string, unknown>>;
    };
    expect(report.results).toEqual(lines);
    expect(report.machine).toMatchObject({ cpus: expect.any(Number), node: process.version });
    for (const result of report.results) {
      for (const field of ['workload', 'backend', 'ops', 'p50', 'p95', 'peak_rss_mb'])
        expect(result, `${JSON.stringify(result)} lacks ${field}`).toHaveProperty(field);
    }
    const kinds = new Set(report.results.map((r) => r.workload));
    expect([...kinds].sort()).toEqual([
      'cli-cold-start',
      'dag',
      'dag-scaling',
      'observability',
      'query',
      'raw-store-writes',
      'store-floor',
    ]);
    for (const dag of report.results.filter((r) => r.workload === 'dag')) {
      expect(dag).toEqual(
        expect.objectContaining({
          overhead_per_step_ms: expect.any(Number),
          raw_writes_per_step_ms: expect.any(Number),
          overhead_to_raw: expect.any(Number),
          floor_per_step_ms: expect.any(Number),
          overhead_to_floor: expect.any(Number),
          steps_per_s: expect.any(Number),
          wall_ms: expect.any(Number),
        }),
      );
    }
    // The store's floor under the engine's guarantees: per store and size, one step at a time and as many as the
    // engine runs at once; a chain is compared with the first, the other shapes with the second.
    const floors = report.results.filter((r) => r.workload === 'store-floor');
    expect(floors.map((r) => `${String(r.backend)}/${String(r.ops)}/${String(r.lanes)}`).sort()).toEqual(
      EMBEDDED.flatMap((b) => [20, 200].flatMap((n) => [`${b}/${n}/1`, `${b}/${n}/32`])).sort(),
    );
    for (const floor of floors) {
      expect(floor.floor_per_step_ms).toBeGreaterThan(0);
      expect(floor.floor_to_raw).toEqual(expect.any(Number));
      const dag = report.results.find(
        (r) =>
          r.workload === 'dag' &&
          r.backend === floor.backend &&
          r.ops === floor.ops &&
          (r.shape === 'chain') === (floor.lanes === 1),
      );
      expect(dag?.floor_per_step_ms).toBe(floor.floor_per_step_ms);
    }
    expect(
      report.results
        .filter((r) => r.workload === 'dag-scaling')
        .map((r) => `${String(r.backend)}/${String(r.shape)}`)
        .sort(),
    ).toEqual(EMBEDDED.flatMap((b) => ['chain', 'fan', 'lattice', 'nested'].map((s) => `${b}/${s}`)).sort());
    for (const scaling of report.results.filter((r) => r.workload === 'dag-scaling'))
      expect(scaling.ratio_10k_1k).toEqual(expect.any(Number));
    const observed = report.results.filter((r) => r.workload === 'observability');
    // Not on sqlite-full: its fsyncs would drown the CPU cost measured.
    expect(observed.map((r) => `${String(r.backend)}/${String(r.shape)}`).sort()).toEqual(
      ['memory', 'sqlite-normal'].flatMap((b) => ['chain', 'fan', 'lattice', 'nested'].map((s) => `${b}/${s}`)).sort(),
    );
    for (const result of observed) {
      expect(result).toEqual(
        expect.objectContaining({
          off_ms: expect.any(Number),
          on_ms: expect.any(Number),
          on_to_off: expect.any(Number),
          code_only_ms: expect.any(Number),
          code_only_to_off: expect.any(Number),
          libraries_per_step_ms: expect.any(Number),
        }),
      );
      expect(result.off_ms).toBeGreaterThan(0);
      expect(result.code_only_ms).toBeGreaterThan(0);
    }
    const vias = report.results.filter((r) => r.workload === 'query').map((r) => `${String(r.query)}/${String(r.via)}`);
    expect(new Set(vias)).toEqual(
      new Set(['list_runs/raw', 'list_runs/engine', 'list_runs/api', 'get_run/raw', 'get_run/engine', 'get_run/api']),
    );
    expect(report.results.find((r) => r.workload === 'cli-cold-start')).toEqual(
      expect.objectContaining({ node_baseline_p50: expect.any(Number), cold_start_to_node: expect.any(Number) }),
    );
  }, 250_000);
});
