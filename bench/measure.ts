import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
/** Timing and memory helpers for the benchmarks: wall time, percentiles, peak RSS while a workload runs. */
export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; peakRssMb: number }> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  const start = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - start;
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, ms, peakRssMb: Math.round((peak / 1024 / 1024) * 10) / 10 };
  } finally {
    clearInterval(sampler);
  }
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Runs `operation` `count` times and returns the latency of each call in ms. */
export async function sampleLatencies(count: number, operation: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const start = performance.now();
    await operation(i);
    samples.push(performance.now() - start);
  }
  return samples;
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The machine a report was measured on. */
export function machineInfo() {
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: process.platform,
  };
}

/** Writes a report as JSON to `target` (its folder made if need be) and says where on stderr. */
export function writeReport(target: string, report: { duration_s: number; results: unknown[] }, label: string): void {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, `${JSON.stringify(report, null, 2)}\n`);
  console.error(`${label}: ${report.results.length} results in ${report.duration_s}s -> ${target}`);
}
