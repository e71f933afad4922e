import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { percentile, round } from './measure.js';

export interface ColdStartResult {
  workload: 'cli-cold-start';
  backend: 'memory';
  ops: number;
  p50: number;
  p95: number;
  node_baseline_p50: number;
  cold_start_to_node: number;
  peak_rss_mb: number;
}

function wallMs(args: string[]): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, {
    stdio: 'ignore',
    env: { ...process.env, MAESTRO_STORE: 'memory://' },
  });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
  return performance.now() - start;
}

/** `maestro-run plans/hello.json` end to end, next to `node -e 0`, in the same run. */
export function runColdStart(repeats: number): ColdStartResult {
  const root = join(import.meta.dirname, '..', '..');
  const maestro = Array.from({ length: repeats }, () =>
    wallMs([join(root, 'bin', 'maestro-run.js'), join(root, 'plans', 'hello.json'), '--json']),
  );
  const node = Array.from({ length: repeats }, () => wallMs(['-e', '0']));
  const p50 = percentile(maestro, 50);
  return {
    workload: 'cli-cold-start',
    backend: 'memory',
    ops: repeats,
    p50: round(p50, 1),
    p95: round(percentile(maestro, 95), 1),
    node_baseline_p50: round(percentile(node, 50), 1),
    cold_start_to_node: round(p50 / percentile(node, 50), 2),
    peak_rss_mb: round(process.memoryUsage().rss / 1024 / 1024, 1),
  };
}
