import { existsSync, readFileSync } from 'node:fs';
import { MaestroError } from '../domain/errors.js';
import type { StoredDocument } from './document-collection.js';

/**
 * The share of a datafile's lines that may be unreadable, as NeDB allowed (its corruptAlertThreshold): a line cut
 * short by a killed process is dropped (always, when it is the last), a file that is mostly unreadable is refused.
 */
const UNREADABLE_LINES_ALLOWED = 0.1;

/** NeDB's serialized values: a date is `{"$$date": <ms>}` (the reviver is NeDB's own model.deserialize). */
function parseLine(line: string): Record<string, unknown> | null {
  return JSON.parse(line, function (key: string, value: unknown) {
    if (key === '$$date') return new Date(value as number);
    if (value !== null && typeof value === 'object' && '$$date' in value && value.$$date) return value.$$date;
    return value;
  }) as Record<string, unknown> | null;
}

function readable(line: string): boolean {
  try {
    const doc = parseLine(line);
    return doc !== null && typeof doc === 'object';
  } catch {
    return false;
  }
}

/**
 * The documents of one NeDB datafile as NeDB loaded them: one JSON document per line, appended; a later line for
 * the same _id replaces the earlier one, `{"$$deleted":true,"_id":…}` removes it, and lines without an _id
 * (`$$indexCreated`, `$$indexRemoved`) declare indexes, which the new store has its own of. NeDB wrote a whole
 * file under `<name>~` first and renamed it: where only that one exists, it is the file.
 */
export function readNedbDatafile(file: string): { documents: StoredDocument[]; unreadableLines: number } {
  const path = existsSync(file) ? file : existsSync(`${file}~`) ? `${file}~` : undefined;
  if (path === undefined) return { documents: [], unreadableLines: 0 };
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  const byId = new Map<string, StoredDocument>();
  let unreadableLines = 0;
  for (const line of lines) {
    let doc: Record<string, unknown> | null;
    try {
      doc = parseLine(line);
    } catch {
      doc = null;
    }
    if (doc === null || typeof doc !== 'object') {
      unreadableLines += 1;
      continue;
    }
    if (typeof doc._id !== 'string' || doc._id === '') continue;
    if (doc.$$deleted === true) byId.delete(doc._id);
    else byId.set(doc._id, doc as StoredDocument);
  }
  // The last line cut short by a process killed while appending is always dropped; the rest count toward the limit.
  const lastUnreadable = lines.length > 0 && !readable(lines.at(-1)!) ? 1 : 0;
  if (lines.length > 0 && (unreadableLines - lastUnreadable) / lines.length > UNREADABLE_LINES_ALLOWED)
    throw new MaestroError(
      'STORE_CORRUPT',
      `the NeDB datafile ${path} cannot be read: ${unreadableLines} of its ${lines.length} lines are not JSON`,
      { details: { file: path, unreadable_lines: unreadableLines, lines: lines.length } },
    );
  return { documents: [...byId.values()], unreadableLines };
}
