import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO, MAESTRO_RUN, REPO_ROOT, runCli } from '../support/spawn-cli.js';
import { inPool, recordFigures } from './support/figures.js';

type Malformed = { name: string; text: string };

const valid = (): any => ({
  name: 'ok',
  steps: [
    { id: 'a', uses: 'noop' },
    { id: 'b', uses: 'noop', needs: ['a'] },
  ],
});
const json = (value: unknown): string => JSON.stringify(value);

/** At least 150 malformed plans, each broken in one way. */
function corpus(): Malformed[] {
  const plans: Malformed[] = [];
  const add = (name: string, mutate: (plan: any) => unknown) => {
    const plan = valid();
    const result = mutate(plan);
    plans.push({ name, text: json(result === undefined ? plan : result) });
  };
  const wrongValues: unknown[] = [null, 42, true, 'text', [], {}, -1, 1.5];
  // Wrong types for every plan field and every step field.
  for (const field of [
    'name',
    'description',
    'owner',
    'labels',
    'inputs',
    'outputs',
    'budget',
    'concurrency',
    'defaults',
    'hooks',
    'steps',
  ]) {
    for (const value of wrongValues) {
      const expectedToPass =
        (field === 'concurrency' && value === 42) ||
        (field === 'description' && value === 'text') ||
        (field === 'labels' && json(value) === '{}') ||
        (field === 'inputs' && json(value) === '{}') ||
        (field === 'outputs' && json(value) === '{}') ||
        (field === 'budget' && json(value) === '{}') ||
        (field === 'defaults' && json(value) === '{}') ||
        (field === 'hooks' && json(value) === '[]') ||
        (field === 'name' && value === 'text') ||
        (field === 'owner' && value === 'text');
      if (!expectedToPass) add(`plan.${field}=${json(value)}`, (p) => void (p[field] = value));
    }
  }
  for (const field of [
    'id',
    'name',
    'uses',
    'with',
    'needs',
    'if',
    'foreach',
    'steps',
    'retry',
    'timeout_ms',
    'continue_on_error',
    'artifacts',
  ]) {
    // Values that fit the field are left out (an empty with or retry, a positive timeout, a boolean flag).
    const fits = (value: unknown) =>
      (['with', 'retry'].includes(field) && json(value) === '{}') ||
      (field === 'timeout_ms' && value === 42) ||
      (field === 'continue_on_error' && value === true);
    for (const value of [null, 42, true, {}, -5])
      if (!fits(value)) add(`step.${field}=${json(value)}`, (p) => void (p.steps[1][field] = value));
  }
  // Missing fields.
  add('missing name', (p) => void delete p.name);
  add('missing steps', (p) => void delete p.steps);
  add('empty steps', (p) => void (p.steps = []));
  add('step missing id', (p) => void delete p.steps[0].id);
  add('step with neither uses nor steps', (p) => void delete p.steps[0].uses);
  add('step with both uses and steps', (p) => void (p.steps[0].steps = [{ id: 'z', uses: 'noop' }]));
  add('exec without command', (p) => void (p.steps[0] = { id: 'a', uses: 'exec', with: {} }));
  add('sleep without ms', (p) => void (p.steps[0] = { id: 'a', uses: 'sleep' }));
  add('handler without name', (p) => void (p.steps[0] = { id: 'a', uses: 'handler', with: {} }));
  add('artifact without path or url', (p) => void (p.steps[0].artifacts = [{ type: 'report' }]));
  add(
    'artifact with both path and url',
    (p) => void (p.steps[0].artifacts = [{ type: 'report', path: 'a', url: 'https://x.example/' }]),
  );
  // Graph faults.
  add('cycle a<->b', (p) => void (p.steps[0].needs = ['b']));
  add('self edge', (p) => void (p.steps[0].needs = ['a']));
  add('three-cycle', () => ({
    name: 'c',
    steps: [
      { id: 'a', uses: 'noop', needs: ['c'] },
      { id: 'b', uses: 'noop', needs: ['a'] },
      { id: 'c', uses: 'noop', needs: ['b'] },
    ],
  }));
  add('unknown need', (p) => void (p.steps[1].needs = ['zz']));
  add('need of a nested step from outside', () => ({
    name: 'n',
    steps: [
      { id: 'g', steps: [{ id: 'x', uses: 'noop' }] },
      { id: 'y', uses: 'noop', needs: ['x'] },
    ],
  }));
  add('duplicate id', (p) => void (p.steps[1].id = 'a'));
  add('duplicate id across levels', () => ({
    name: 'd',
    steps: [
      { id: 'a', uses: 'noop' },
      { id: 'g', steps: [{ id: 'a', uses: 'noop' }] },
    ],
  }));
  add('cycle inside a group', () => ({
    name: 'g',
    steps: [
      {
        id: 'g',
        steps: [
          { id: 'x', uses: 'noop', needs: ['y'] },
          { id: 'y', uses: 'noop', needs: ['x'] },
        ],
      },
    ],
  }));
  // Unknown kinds and hooks.
  for (const kind of ['shell', 'docker', 'python', 'eval', 'lambda', 'unknown-kind'])
    add(`unknown kind ${kind}`, (p) => void (p.steps[0].uses = kind));
  add('unknown hook', (p) => void (p.hooks = ['nope']));
  // Bad expressions.
  for (const expression of [
    '${{ inputs. }}',
    '${{ steps.zz.outputs.x }}',
    '${{ eval("1") }}',
    '${{ inputs.__proto__ }}',
    '${{ inputs.constructor }}',
    '${{ process.env }}',
    '${{ 1 + }}',
    '${{ (inputs.a }}',
    '${{ inputs.a ]] }}',
    '${{ "unterminated }}',
    '${{ inputs.a',
    '${{ require("fs") }}',
    '${{ inputs.a == }}',
    '${{ steps.a.outputs[ }}',
  ]) {
    add(`bad expression ${expression}`, (p) => void (p.steps[1].with = { outputs: { v: expression } }));
  }
  for (const condition of ['${{ }}', '${{ !! }}', '${{ globalThis }}', '${{ steps.nowhere.status }}'])
    add(`bad if ${condition}`, (p) => void (p.steps[1].if = condition));
  add('foreach not an expression', (p) => void (p.steps[1].foreach = 'items'));
  // Huge strings and deep nesting.
  add('huge name', (p) => void (p.name = 'a'.repeat(200_000)));
  add('huge description', (p) => void (p.description = 'x'.repeat(10_000)));
  add('huge step id', (p) => void (p.steps[0].id = 'a'.repeat(5000)));
  add(
    'huge expression',
    (p) => void (p.steps[1].with = { outputs: { v: `\${{ ${'inputs.a || '.repeat(2000)}inputs.b }}` } }),
  );
  add('deeply nested groups', () => {
    let step: any = { id: 'leaf', uses: 'noop' };
    for (let depth = 0; depth < 200; depth += 1) step = { id: `g${depth}`, steps: [step] };
    return { name: 'deep', steps: [step] };
  });
  add('deeply nested with', (p) => {
    let value: any = 1;
    for (let depth = 0; depth < 3000; depth += 1) value = { v: value };
    p.steps[0].with = { outputs: value, cost: 'x' };
  });
  add('too many steps', () => ({
    name: 'many',
    steps: Array.from({ length: 20_001 }, (_, i) => ({ id: `s${i}`, uses: 'noop' })),
  }));
  // Prototype-pollution keys.
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    plans.push({
      name: `plan key ${key}`,
      text: json(valid()).replace('{"name"', `{"${key}":{"polluted":true},"name"`),
    });
    plans.push({
      name: `step key ${key}`,
      text: json(valid()).replace('{"id":"a"', `{"${key}":{"polluted":true},"id":"a"`),
    });
    plans.push({ name: `step id ${key}`, text: json(valid()).replaceAll('"a"', `"${key}"`) });
  }
  plans.push({
    name: 'labels __proto__',
    text: json(valid()).replace('{"name"', '{"labels":{"__proto__":"x"},"name"'),
  });
  // Not JSON at all.
  for (const [name, text] of [
    ['empty file', ''],
    ['whitespace', '   \n'],
    ['truncated', '{"name": "x", "steps": ['],
    ['trailing comma', '{"name":"x","steps":[{"id":"a","uses":"noop"},]}'],
    ['single quotes', "{'name':'x'}"],
    ['yaml', 'name: x\nsteps:\n  - id: a\n'],
    ['comments', '// plan\n{"name":"x","steps":[]}'],
    ['NaN', '{"name":"x","concurrency":NaN,"steps":[]}'],
    ['a number', '42'],
    ['a string', '"plan"'],
    ['null', 'null'],
    ['an array', '[]'],
    ['binary', '\u0000\u0001\u0002'],
    ['BOM and garbage', '\ufeff{{'],
  ] as const) {
    plans.push({ name, text });
  }
  return plans;
}

describe('malformed plans', () => {
  it('each gets exit 2 and a path-naming error, and the store keeps exactly what it held', async () => {
    const plans = corpus();
    expect(plans.length).toBeGreaterThanOrEqual(150);
    // Four stores, one per parallel lane, each with a run in it.
    const lanes = Array.from({ length: 4 }, (_, lane) => {
      const cwd = mkdtempSync(join(tmpdir(), `maestro-fault-plans-${lane}-`));
      mkdirSync(join(cwd, 'plans'));
      return cwd;
    });
    const snapshot = async (cwd: string) => {
      const runs = (await runCli(MAESTRO, ['runs', 'list', '--json', '--limit', '500'], { cwd })).stdout;
      const plansList = (await runCli(MAESTRO, ['plans', 'list', '--json', '--limit', '500'], { cwd })).stdout;
      const runIds = (JSON.parse(runs) as { items: Array<{ run_id: string }> }).items.map((r) => r.run_id);
      const events = await Promise.all(
        runIds.map(async (id) => (await runCli(MAESTRO, ['runs', 'events', id, '--json'], { cwd })).stdout),
      );
      return JSON.stringify({ runs, plansList, events });
    };
    for (const cwd of lanes)
      expect((await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'hello.json')], { cwd })).code).toBe(0);
    const before = await Promise.all(lanes.map(snapshot));

    // Each lane (its own store) takes every fourth plan, one at a time; the lanes run side by side.
    const perLane = await Promise.all(
      lanes.map(async (cwd, lane) => {
        const mine = plans.map((plan, index) => ({ plan, index })).filter(({ index }) => index % lanes.length === lane);
        return inPool(mine, 1, async ({ plan, index }) => {
          const file = join(cwd, 'plans', `bad-${index}.json`);
          writeFileSync(file, plan.text);
          const result = await runCli(MAESTRO_RUN, [file, '--json'], { cwd, timeoutMs: 60_000 });
          const error = (
            jsonLines(result.stdout).find((line) => line.type === 'error') as
              { error?: { code: string; details: { path?: string } } } | undefined
          )?.error;
          return {
            plan: plan.name,
            code: result.code,
            errorCode: error?.code,
            path: error?.details.path,
            stderr: result.stderr,
          };
        });
      }),
    );
    const results = perLane.flat();
    const after = await Promise.all(lanes.map(snapshot));

    const wrongExit = results.filter((r) => r.code !== 2);
    const noPath = results.filter((r) => !r.path || !r.path.startsWith('$') || !r.stderr.includes(r.path));
    const changedStores = before.filter((snap, i) => snap !== after[i]).length;
    recordFigures({
      fault: 'malformed plans',
      runs: 0,
      steps: plans.length,
      errors: wrongExit.length + noPath.length,
      stores_changed: changedStores,
      exit_2: results.length - wrongExit.length,
    });
    expect(wrongExit.map((r) => `${r.plan}: exit ${r.code} ${r.stderr.split('\n')[0]}`)).toEqual([]);
    expect(noPath.map((r) => `${r.plan}: ${r.errorCode} path ${r.path}`)).toEqual([]);
    expect(results.every((r) => r.errorCode === 'PLAN_INVALID')).toBe(true);
    expect(changedStores).toBe(0);
    expect(readFileSync(join(lanes[0]!, 'plans', 'bad-0.json'), 'utf8').length).toBeGreaterThan(0);
  });
});
