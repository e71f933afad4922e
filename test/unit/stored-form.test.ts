import { describe, expect, it } from 'vitest';
import { Collection, fromStored, toStored } from '../../src/store/stored-form.js';

/** Every object and array reachable from a value. */
function objectsIn(value: unknown, found = new Set<object>()): Set<object> {
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    found.add(value);
    for (const inner of Object.values(value)) objectsIn(inner, found);
  }
  return found;
}

describe('stored form', () => {
  const step = {
    step_id: 's1',
    created_at: '2026-12-03T10:00:00.000Z',
    lease: { owner: 'r', fence: 1, expires_at: '2026-12-03T10:00:30.000Z' },
    outputs: { plain: { list: [{ a: 1 }, 2] }, 'a.b': { $gt: 1 }, '%24': 'literal' },
  };

  it('escapes keys on the way in and restores them on the way out, dates as Dates in the store', () => {
    const stored = toStored(Collection.steps, step);
    expect(stored.outputs).toEqual({ plain: { list: [{ a: 1 }, 2] }, 'a%2Eb': { '%24gt': 1 }, '%2524': 'literal' });
    expect(stored.created_at).toBeInstanceOf(Date);
    expect((stored.lease as { expires_at: unknown }).expires_at).toBeInstanceOf(Date);
    expect(fromStored(Collection.steps, { ...stored, _id: 's1' })).toEqual(step);
  });

  it('keeps a __proto__ key as data, in and out', () => {
    const outputs = JSON.parse('{"__proto__": {"polluted": true}, "x.y": 1}') as Record<string, unknown>;
    const back = fromStored<{ outputs: Record<string, unknown> }>(
      Collection.steps,
      toStored(Collection.steps, { outputs }),
    );
    expect(Object.keys(back.outputs)).toEqual(['__proto__', 'x.y']);
    expect(Object.getPrototypeOf(back.outputs)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never lets a stored document share an object with the caller (an in-process store could keep $set values by reference)', () => {
    const stored = toStored(Collection.steps, step);
    const callers = objectsIn(step);
    expect([...objectsIn(stored)].filter((object) => callers.has(object))).toEqual([]);
  });
});

describe('stored form of nested arrays', () => {
  /** True when some array holds, at any depth, another array. */
  function hasArrayInArray(value: unknown, inArray = false): boolean {
    if (Array.isArray(value)) return inArray || value.some((item) => hasArrayInArray(item, true));
    if (value && typeof value === 'object')
      return Object.values(value).some((inner) => hasArrayInArray(inner, inArray));
    return false;
  }

  it('stores an array inside an array as an object and reads it back as the same array', () => {
    const outputs = { grid: [[1, [2, []]], [{ deep: [[['x']]] }], []], '%[]': 'a user key', list: [1, 2] };
    const stored = toStored(Collection.steps, { outputs });
    expect(hasArrayInArray(stored)).toBe(false);
    expect(stored.outputs).toEqual({
      grid: [
        { '%[]': 2, 0: 1, 1: { '%[]': 2, 0: 2, 1: { '%[]': 0 } } },
        { '%[]': 1, 0: { deep: { '%[]': 1, 0: { '%[]': 1, 0: { '%[]': 1, 0: 'x' } } } } },
        { '%[]': 0 },
      ],
      '%25[]': 'a user key',
      list: [1, 2],
    });
    const back = fromStored<{ outputs: unknown }>(Collection.steps, { ...stored, _id: 's' });
    expect(back.outputs).toEqual(outputs);
    expect(Object.keys(back.outputs as object)).toEqual(['grid', '%[]', 'list']);
  });
});
