import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshMongoUrl, mongoStoreEntries, requireBase } from '../../support/backends.js';
import { recordFigures } from '../support/figures.js';

/** One class of hostile input: how many attempts, how many were refused cleanly, and what must never happen. */
export interface HostileFigures {
  attempts: number;
  refused: number;
  server_errors: number;
  crashes: number;
  /** Requests or commands that did not answer within their bound (0 unless the test measures it). */
  hangs?: number;
  stores_open?: string;
}

export function recordHostile(name: string, figures: HostileFigures): void {
  recordFigures({
    fault: `hostile: ${name}`,
    errors: figures.server_errors + figures.crashes + (figures.hangs ?? 0),
    ...figures,
    server_errors: figures.server_errors,
    hangs: figures.hangs ?? 0,
  });
}

export function workspace(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `maestro-hostile-${prefix}-`));
}

/** A JSON value nested `depth` levels deep (built without recursion). */
export function deepJson(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = { d: value };
  return value;
}

/** The JSON text of a value nested `depth` levels deep (too deep for JSON.stringify's stack). */
export function deepJsonText(depth: number): string {
  return `${'{"d":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;
}

/** Processes whose command line holds a marker (the test's own grandchildren), by pgrep. */
export function processesWith(marker: string): number {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** The stores a hostile class runs on where a store is involved: a SQLite file in the workspace, and each MongoDB-wire server. */
export function hostileStores(): Array<{ name: string; available: boolean; url: (cwd: string) => string }> {
  return [
    { name: 'sqlite (file)', available: true, url: (cwd) => `sqlite://${join(cwd, '.maestro', 'maestro.db')}` },
    ...mongoStoreEntries().map(({ name, base }) => ({
      name,
      available: base !== undefined,
      url: () => freshMongoUrl(requireBase(base)),
    })),
  ];
}
