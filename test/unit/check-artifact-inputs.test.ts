import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan, PlanStep } from '../../src/generated/schemas.js';
import { isMaestroError } from '../../src/domain/errors.js';
import { Engine } from '../../src/maestro-engine.js';
import { openStore } from '../../src/store/open.js';
import type { RunStore } from '../../src/store/port.js';

let store: RunStore;
let engine: Engine;
beforeAll(async () => {
  store = await openStore('memory://');
  engine = new Engine({ store });
});
afterAll(async () => {
  engine.close();
  await store.close();
});

const produce: PlanStep = {
  id: 'produce',
  uses: 'noop',
  artifacts: [
    { type: 'report', path: 'out/report.csv', name: 'report' },
    { type: 'dataset', path: 'out/rows.json' },
    { type: 'document', url: 'https://example.com/doc', name: 'doc' },
  ],
};

function planWith(consumer: Partial<PlanStep>, others: PlanStep[] = [produce]): Plan {
  return { name: 'artifacts-in', steps: [...others, { id: 'consume', uses: 'noop', ...consumer }] };
}

/** The PLAN_INVALID a plan compiles to: its path and message. */
function faultOf(plan: Plan): { path: unknown; message: string } {
  try {
    engine.compile(plan);
  } catch (error) {
    if (!isMaestroError(error, 'PLAN_INVALID')) throw error;
    return { path: error.details.path, message: error.message };
  }
  throw new Error('the plan compiled');
}

describe('artifacts_in is checked when the plan compiles', () => {
  it('accepts a producer the step needs directly, through other steps, or through its group', () => {
    const input = { step: 'produce', name: 'report', path: 'in/report.csv' };
    expect(() => engine.compile(planWith({ needs: ['produce'], artifacts_in: [input] }))).not.toThrow();
    const middle: PlanStep = { id: 'middle', uses: 'noop', needs: ['produce'] };
    expect(() =>
      engine.compile(planWith({ needs: ['middle'], artifacts_in: [input] }, [produce, middle])),
    ).not.toThrow();
    // The name of an artifact declared without one is the last part of its path.
    const byPath = { step: 'produce', name: 'rows.json', path: 'rows.json' };
    const group: PlanStep = {
      id: 'group',
      needs: ['produce'],
      steps: [{ id: 'inner', uses: 'noop', artifacts_in: [byPath] }],
    };
    expect(() => engine.compile({ name: 'grouped', steps: [produce, group] })).not.toThrow();
  });

  it.each([
    {
      why: 'an unknown step',
      consumer: { needs: ['produce'], artifacts_in: [{ step: 'nope', name: 'report', path: 'a' }] },
      path: '$.steps[1].artifacts_in[0].step',
      says: 'unknown step "nope"',
    },
    {
      why: 'a step that is not upstream (no needs: it could run at the same time)',
      consumer: { artifacts_in: [{ step: 'produce', name: 'report', path: 'a' }] },
      path: '$.steps[1].artifacts_in[0].step',
      says: 'is not upstream of step "consume"',
    },
    {
      why: 'an artifact the producer does not declare',
      consumer: { needs: ['produce'], artifacts_in: [{ step: 'produce', name: 'repor', path: 'a' }] },
      path: '$.steps[1].artifacts_in[0].name',
      says: 'declares no file artifact named "repor"',
    },
    {
      why: 'a URL artifact (its bytes are not stored)',
      consumer: { needs: ['produce'], artifacts_in: [{ step: 'produce', name: 'doc', path: 'a' }] },
      path: '$.steps[1].artifacts_in[0].name',
      says: 'declares no file artifact named "doc"',
    },
    {
      why: 'a path out of the workspace',
      consumer: { needs: ['produce'], artifacts_in: [{ step: 'produce', name: 'report', path: '../x' }] },
      path: '$.steps[1].artifacts_in[0].path',
      says: 'starts with a dot',
    },
    {
      why: "a path into the runner's .maestro/",
      consumer: {
        needs: ['produce'],
        artifacts_in: [{ step: 'produce', name: 'report', path: 'sub/../.maestro/maestro.db' }],
      },
      path: '$.steps[1].artifacts_in[0].path',
      says: 'starts with a dot',
    },
    {
      why: 'a dotfile (a tool would read its configuration from it)',
      consumer: { needs: ['produce'], artifacts_in: [{ step: 'produce', name: 'report', path: 'git/.gitconfig' }] },
      path: '$.steps[1].artifacts_in[0].path',
      says: 'starts with a dot',
    },
    {
      why: 'an absolute path',
      consumer: { needs: ['produce'], artifacts_in: [{ step: 'produce', name: 'report', path: '/tmp/x' }] },
      path: '$.steps[1].artifacts_in[0].path',
      says: 'is absolute',
    },
    {
      why: 'two inputs written to one path',
      consumer: {
        needs: ['produce'],
        artifacts_in: [
          { step: 'produce', name: 'report', path: 'in/x' },
          { step: 'produce', name: 'rows.json', path: 'in//x' },
        ],
      },
      path: '$.steps[1].artifacts_in[1].path',
      says: 'empty part',
    },
    {
      why: 'two inputs written to one path (normalized)',
      consumer: {
        needs: ['produce'],
        artifacts_in: [
          { step: 'produce', name: 'report', path: 'in/x' },
          { step: 'produce', name: 'rows.json', path: 'in/x' },
        ],
      },
      path: '$.steps[1].artifacts_in[1].path',
      says: 'is written by artifacts_in[0] too',
    },
  ])('refuses $why, naming the field', ({ consumer, path, says }) => {
    const fault = faultOf(planWith(consumer));
    expect(fault.path).toBe(path);
    expect(fault.message).toContain(says);
  });

  it('refuses artifacts_in on a group, and a group or a foreach step as the producer', () => {
    const input = { step: 'produce', name: 'report', path: 'in/report.csv' };
    expect(
      faultOf({
        name: 'on-group',
        steps: [produce, { id: 'g', needs: ['produce'], artifacts_in: [input], steps: [{ id: 'x', uses: 'noop' }] }],
      }).path,
    ).toBe('$.steps[1].artifacts_in');
    const fanned: PlanStep = { ...produce, foreach: ['a', 'b'] };
    expect(faultOf(planWith({ needs: ['produce'], artifacts_in: [input] }, [fanned])).message).toContain(
      'runs once per foreach item',
    );
    const group: PlanStep = { id: 'produce', steps: [{ id: 'inside', uses: 'noop' }] };
    expect(faultOf(planWith({ needs: ['produce'], artifacts_in: [input] }, [group])).message).toContain('is a group');
  });

  it('refuses a step of another group (it cannot see it) and a producer downstream of the reader', () => {
    const group: PlanStep = { id: 'g', steps: [produce] };
    expect(
      faultOf(planWith({ needs: ['g'], artifacts_in: [{ step: 'produce', name: 'report', path: 'x' }] }, [group]))
        .message,
    ).toContain('is not upstream');
    const downstream: Plan = {
      name: 'backwards',
      steps: [
        { id: 'consume', uses: 'noop', artifacts_in: [{ step: 'produce', name: 'report', path: 'x' }] },
        { ...produce, needs: ['consume'] },
      ],
    };
    expect(faultOf(downstream).path).toBe('$.steps[0].artifacts_in[0].step');
  });
});
