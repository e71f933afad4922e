import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

const COLUMNS = ['runs', 'kills', 'steps', 'duplicates', 'lost', 'errors'] as const;

/** Collects the figures each fault test records and prints them as one table when the suite ends. */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'maestro-faults-'));
  const file = join(dir, 'figures.jsonl');
  project.provide('faultFiguresFile', file);
  return () => {
    const rows = existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>)
      : [];
    const header = ['fault', ...COLUMNS, 'other figures'];
    const table = rows.map((row) => [
      String(row.fault),
      ...COLUMNS.map((c) => (row[c] === undefined ? '-' : JSON.stringify(row[c]))),
      Object.entries(row)
        .filter(([k]) => k !== 'fault' && !(COLUMNS as readonly string[]).includes(k))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' '),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
    console.log(`\nFault suite figures\n${line(header)}\n${table.map(line).join('\n')}\n`);
    rmSync(dir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    faultFiguresFile: string;
  }
}
