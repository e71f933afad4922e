import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Update } from '../../src/store/document-collection.js';
import { decodeDocument, encodeDocument } from '../../src/store/sqlite/sqlite-json.js';
import { applyUpdate } from '../../src/store/sqlite/sqlite-update.js';
import { updateToSql } from '../../src/store/sqlite/sqlite-update-sql.js';

const at = new Date('2026-12-07T10:00:00.000Z');
const step = {
  status: 'pending',
  huge: Number.MAX_VALUE,
  attempt: 0,
  created_at: at,
  ready_at: at,
  started_at: at,
  offered_at: at,
  lease: { owner: 'r1', fence: 2, expires_at: at },
  outputs: { kept: [1, { deep: true }] },
};

/** The document as SQL updates it, or undefined when the update's condition keeps SQL from changing it. */
function updatedInSql(doc: Record<string, unknown>, update: Update): Record<string, unknown> | undefined {
  const text = updatedTextInSql(doc, update);
  return text === undefined ? undefined : decodeDocument(text);
}

function updatedTextInSql(doc: Record<string, unknown>, update: Update): string | undefined {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL)');
  db.prepare('INSERT INTO t VALUES (?, ?)').run('a', encodeDocument(doc));
  const change = updateToSql(update)!;
  const row = db
    .prepare(`UPDATE t SET doc = ${change.document} WHERE id = 'a' AND ${change.applies} RETURNING doc`)
    .get(...change.params, ...change.appliesParams) as { doc: string } | undefined;
  db.close();
  return row?.doc;
}

const updatedHere = (doc: Record<string, unknown>, update: Update) =>
  applyUpdate(decodeDocument(encodeDocument(doc)), update);

describe('updates as SQL', () => {
  it.each<[string, Update]>([
    [
      'a claim',
      {
        $set: { 'lease.owner': 'r2', 'lease.expires_at': new Date(at.getTime() + 30_000), status: 'running' },
        $inc: { attempt: 1, 'lease.fence': 1 },
        $unset: { ready_at: true, offered_at: true },
      },
    ],
    ['a result with outputs holding dates and nesting', { $set: { status: 'succeeded', outputs: { a: [[1]], at } } }],
    ['fields created on the way', { $set: { 'new.inner.leaf': 'x', flag: false, none: null }, $inc: { count: 2.5 } }],
    ['an unset of what is not there', { $unset: { 'missing.field': true, absent: true } }],
  ])('gives what applyUpdate gives: %s', (_name, update) => {
    const inSql = updatedInSql(step, update);
    expect(inSql).toEqual(updatedHere(step, update));
    expect(Object.keys(inSql!)).toEqual(Object.keys(updatedHere(step, update)));
  });

  it('leaves an $inc past the largest number to applyUpdate (SQL would store 9e999, read back as Infinity)', () => {
    expect(updatedInSql(step, { $inc: { huge: Number.MAX_VALUE } })).toBeUndefined();
    expect(updatedInSql(step, { $inc: { huge: -1 } })?.huge).toBe(Number.MAX_VALUE - 1);
  });

  it('keeps an integer counter an integer in the stored text', () => {
    expect(updatedTextInSql(step, { $inc: { attempt: 1 } })).toContain('"attempt":1,');
    expect(updatedTextInSql(step, { $inc: { attempt: 0.5 } })).toContain('"attempt":0.5,');
  });

  it.each<[string, Update]>([
    ['$inc of a string', { $inc: { status: 1 } }],
    ['$set through a string', { $set: { 'status.inner': 1 } }],
    ['$unset through a number', { $unset: { 'attempt.inner': true } }],
    ['$set inside a date', { $set: { 'started_at.inner': 1 } }],
    ['$unset inside a date', { $unset: { 'created_at.inner': true } }],
  ])('changes nothing where applyUpdate refuses: %s', (_name, update) => {
    expect(() => updatedHere(step, update)).toThrow();
    expect(updatedInSql(step, update)).toBeUndefined();
  });

  it.each<[string, Update]>([
    ['$max', { $max: { attempt: 3 } }],
    ['$push', { $push: { list: 1 } }],
    ['an array position', { $set: { 'outputs.kept.0': 2 } }],
    ['a key SQL is not given', { $set: { 'hook_cursors.a b': 1 } }],
    ['overlapping paths', { $set: { lease: {} }, $inc: { 'lease.fence': 1 } }],
    ['the same path twice', { $set: { attempt: 1 }, $inc: { attempt: 1 } }],
    ['an undefined value', { $set: { attempt: undefined } }],
    ['the _id', { $set: { _id: 'b' } }],
    ['a field inside the _id', { $set: { '_id.inner': 'b' } }],
    [
      'overlapping paths with another between them in sort order',
      { $set: { 'a.b': 1, 'a-b': 0 }, $unset: { a: true } },
    ],
  ])('leaves to applyUpdate what SQL would not say alike: %s', (_name, update) => {
    expect(updateToSql(update)).toBeUndefined();
  });
});
