import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/generated/schemas.js';
import { MAESTRO, REPO_ROOT, runCli } from '../support/spawn-cli.js';

async function validate(plan: Plan) {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-refs-'));
  writeFileSync(join(cwd, 'plan.json'), JSON.stringify(plan));
  return runCli(MAESTRO, ['validate', 'plan.json'], { cwd });
}

const closedInputs = { type: 'object', properties: { commit: { type: 'string' } }, additionalProperties: false };

describe('maestro validate checks what expressions read', () => {
  it.each([
    {
      why: 'a member that steps do not have (output instead of outputs)',
      plan: {
        name: 'typo',
        steps: [
          { id: 'a', uses: 'noop' },
          { id: 'b', uses: 'noop', needs: ['a'], with: { outputs: { x: '${{ steps.a.output.x }}' } } },
        ],
      },
      path: '$.steps[1].with.outputs.x',
      says: 'steps.a has no member "output"',
    },
    {
      why: 'a step that is not upstream of the reader',
      plan: {
        name: 'race',
        steps: [
          { id: 'a', uses: 'noop' },
          { id: 'b', uses: 'noop' },
          { id: 'c', uses: 'noop', needs: ['a'], if: '${{ steps.b.outputs.ok }}' },
        ],
      },
      path: '$.steps[2].if',
      says: 'step "c" reads steps.b, which is not upstream of it',
    },
    {
      why: 'a step downstream of the reader',
      plan: {
        name: 'backwards',
        steps: [
          { id: 'a', uses: 'noop', with: { outputs: { x: '${{ steps.b.outputs }}' } } },
          { id: 'b', uses: 'noop', needs: ['a'] },
        ],
      },
      path: '$.steps[0].with.outputs.x',
      says: 'not upstream',
    },
    {
      why: 'an input that a closed inputs schema does not declare',
      plan: {
        name: 'undeclared',
        inputs: closedInputs,
        steps: [{ id: 'a', uses: 'noop', with: { outputs: { c: '${{ inputs.comit }}' } } }],
      },
      path: '$.steps[0].with.outputs.c',
      says: 'inputs.comit is not declared',
    },
    {
      why: 'item outside foreach',
      plan: { name: 'stray-item', steps: [{ id: 'a', uses: 'noop', with: { outputs: { x: '${{ item }}' } } }] },
      path: '$.steps[0].with.outputs.x',
      says: 'item is only defined inside a foreach step',
    },
    {
      why: 'a nested step of another group by its own id',
      plan: {
        name: 'nested',
        steps: [
          { id: 'g', steps: [{ id: 'inner', uses: 'noop' }] },
          { id: 'after', uses: 'noop', needs: ['g'], with: { outputs: { x: '${{ steps.inner.outputs }}' } } },
        ],
      },
      path: '$.steps[1].with.outputs.x',
      says: 'not upstream',
    },
    {
      why: 'a secret in the plan outputs',
      plan: {
        name: 's-out',
        secrets: ['TOKEN'],
        steps: [{ id: 'a', uses: 'noop' }],
        outputs: { t: '${{ secrets.TOKEN }}' },
      },
      path: '$.outputs.t',
      says: 'secrets may not be read here',
    },
    {
      why: 'a secret in an if',
      plan: { name: 's-if', secrets: ['TOKEN'], steps: [{ id: 'a', uses: 'noop', if: "${{ secrets.TOKEN == 'x' }}" }] },
      path: '$.steps[0].if',
      says: 'secrets may not be read here',
    },
    {
      why: 'a secret in a foreach',
      plan: { name: 's-each', secrets: ['TOKEN'], steps: [{ id: 'a', uses: 'noop', foreach: '${{ secrets.TOKEN }}' }] },
      path: '$.steps[0].foreach',
      says: 'secrets may not be read here',
    },
    {
      why: 'an undeclared secret',
      plan: {
        name: 's-undeclared',
        secrets: ['TOKEN'],
        steps: [{ id: 'a', uses: 'exec', with: { command: ['true'], env: { T: '${{ secrets.TOKEN2 }}' } } }],
      },
      path: '$.steps[0].with.env.T',
      says: 'secrets.TOKEN2 is not declared',
    },
    {
      why: 'a secret passed to a child plan (it would become stored inputs)',
      plan: {
        name: 's-child',
        secrets: ['TOKEN'],
        steps: [{ id: 'a', uses: 'plan', with: { plan: 'x.json', inputs: { t: '${{ secrets.TOKEN }}' } } }],
      },
      path: '$.steps[0].with.inputs.t',
      says: 'secrets may not be read here',
    },
    {
      why: 'a write-only input in the plan outputs',
      plan: {
        name: 'wo-out',
        inputs: { type: 'object', properties: { pw: { type: 'string', writeOnly: true } } },
        steps: [{ id: 'a', uses: 'noop' }],
        outputs: { pw: '${{ inputs.pw }}' },
      },
      path: '$.outputs.pw',
      says: 'inputs.pw is write-only',
    },
  ] as Array<{ why: string; plan: Plan; path: string; says: string }>)(
    'exits 2 for $why, naming the path',
    async ({ plan, path, says }) => {
      const result = await validate(plan);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('PLAN_INVALID');
      expect(result.stderr).toContain('plan.json');
      expect(result.stderr).toContain(path);
      expect(result.stderr).toContain(says);
      expect(result.stderr).toMatch(/expected: /);
    },
  );

  it('accepts reads through transitive needs, an enclosing group, foreach items and open inputs', async () => {
    const result = await validate({
      name: 'fine',
      inputs: { type: 'object', properties: { items: { type: 'array' } } },
      steps: [
        { id: 'a', uses: 'noop', with: { outputs: { n: 1 } } },
        { id: 'b', uses: 'noop', needs: ['a'] },
        {
          id: 'c',
          uses: 'noop',
          needs: ['b'],
          with: {
            outputs: { n: '${{ steps.a.outputs.n }}', s: '${{ steps.b.status }}', extra: '${{ inputs.anything }}' },
          },
        },
        {
          id: 'g',
          needs: ['c'],
          steps: [{ id: 'inside', uses: 'noop', with: { outputs: { from_outside: '${{ steps.a.outputs.n }}' } } }],
        },
        {
          id: 'each',
          needs: ['g'],
          foreach: '${{ inputs.items }}',
          uses: 'noop',
          with: { outputs: { item: '${{ item }}', g: '${{ steps.g.outputs.inside }}' } },
        },
      ],
      outputs: { n: '${{ steps.c.outputs.n }}', run: '${{ run.run_id }}' },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('still accepts every sample plan', async () => {
    const plans = readdirSync(join(REPO_ROOT, 'plans'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(REPO_ROOT, 'plans', f));
    const result = await runCli(MAESTRO, ['validate', ...plans, join(REPO_ROOT, 'examples', 'release-plan.json')], {
      cwd: REPO_ROOT,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
