import { describe, expect, it } from 'vitest';
import { findSchemaFault } from '../../src/schema/validators.js';
import { pointerToJsonPath } from '../../src/schema/format-errors.js';
import { eventDataFault } from '../support/engine-harness.js';

describe('schema validation errors', () => {
  it('name the JSON path and what was expected', () => {
    const fault = findSchemaFault('plan.schema.json', {
      name: 'ok',
      steps: [{ id: 'a', uses: 'noop', timeout_ms: 'soon' }],
    });
    expect(fault).toMatchObject({ path: '$.steps[0].timeout_ms', expected: 'type integer' });
  });

  it('name a missing required field by its full path', () => {
    expect(findSchemaFault('plan.schema.json', { name: 'ok', steps: [{ uses: 'noop' }] })?.path).toBe('$.steps[0].id');
  });

  it('name an unknown field as unknown', () => {
    expect(
      findSchemaFault('plan.schema.json', { name: 'ok', steps: [{ id: 'a', uses: 'noop', user: 'x' }] }),
    ).toMatchObject({
      path: '$.steps[0].user',
      expected: 'no such property (unknown field)',
    });
  });

  it('reject a step that has both uses and steps', () => {
    const fault = findSchemaFault('plan.schema.json', {
      name: 'ok',
      steps: [{ id: 'a', uses: 'noop', steps: [{ id: 'b', uses: 'noop' }] }],
    });
    expect(fault).toMatchObject({ path: '$.steps[0]', expected: 'either uses or steps, not both' });
  });

  it('quote keys that are not identifiers', () => {
    expect(pointerToJsonPath('/labels/team.name/0')).toBe('$.labels["team.name"][0]');
  });
});

describe('event data schemas', () => {
  it('refuses an event whose data does not have the shape its type promises', () => {
    expect(eventDataFault({ type: 'run.created', seq: 1, data: { plan_id: 'p' } })).toMatch(/run\.created/);
    expect(
      eventDataFault({ type: 'step.skipped', seq: 2, data: { key: 'a', reason: 'condition_false', extra: 1 } }),
    ).toBeDefined();
    expect(
      eventDataFault({ type: 'step.skipped', seq: 3, data: { key: 'a', reason: 'condition_false' } }),
    ).toBeUndefined();
  });
});
