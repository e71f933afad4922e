import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/generated/schemas.js';
import { isMaestroError } from '../../../src/domain/errors.js';
import { Engine } from '../../../src/maestro-engine.js';
import { openStore } from '../../../src/store/open.js';
import { createHarness } from '../../support/engine-harness.js';
import { recordHostile, workspace } from './hostile-support.js';

/**
 * An upstream step plants links where a later step's artifacts_in will write, or names the runner's own files: each
 * is refused (PATH_FORBIDDEN) and nothing outside the workspace, in .maestro/ or in the runner's files changes.
 */
describe('hostile: artifacts_in writes', () => {
  it('a planted link never carries an input file out of the workspace or onto the runner files', async () => {
    const outside = workspace('artifacts-outside');
    writeFileSync(join(outside, 'victim.txt'), 'untouched');
    const store = await openStore(`sqlite://${join(workspace('artifacts-store'), 'maestro.db')}`);
    const tokens = 'tokens.json';
    const ws = workspace('artifacts-ws');
    const hidden = join(ws, tokens);
    writeFileSync(hidden, '{"tokens":[]}');
    const runner = createHarness(store, { workspace: ws, hiddenPaths: [hidden] });
    mkdirSync(join(ws, 'out'));
    writeFileSync(join(ws, 'out/report.csv'), 'a,b\n1,2\n');
    // Each case: what the planting step leaves, and the path the consumer's artifacts_in names.
    const cases: Array<{ name: string; plant: (ws: string) => void; path: string }> = [
      { name: 'directory link out', plant: (ws) => symlinkSync(outside, join(ws, 'in1')), path: 'in1/victim.txt' },
      {
        name: 'directory link into .maestro',
        plant: (ws) => symlinkSync(join(ws, '.maestro'), join(ws, 'in2')),
        path: 'in2/x.db',
      },
      { name: "the runner's tokens file", plant: () => undefined, path: tokens },
      {
        name: 'file link out',
        plant: (ws) => {
          mkdirSync(join(ws, 'in4'));
          symlinkSync(join(outside, 'victim.txt'), join(ws, 'in4/report.csv'));
        },
        path: 'in4/report.csv',
      },
    ];
    let refused = 0;
    let crashes = 0;
    try {
      for (const [index, testCase] of cases.entries()) {
        runner.engine.registerHandler(`plant-${index}`, (context) => {
          testCase.plant(context.workspace);
          return {};
        });
        const plan: Plan = {
          name: `plant-${index}`,
          steps: [
            { id: 'produce', uses: 'noop', artifacts: [{ type: 'report', path: 'out/report.csv', name: 'report' }] },
            { id: 'plant', uses: 'handler', needs: ['produce'], with: { handler: `plant-${index}` } },
            {
              id: 'consume',
              uses: 'noop',
              needs: ['plant'],
              artifacts_in: [{ step: 'produce', name: 'report', path: testCase.path }],
            },
          ],
        };
        const { steps } = await runner.runPlan(plan).catch((error: unknown) => {
          crashes += 1;
          throw error;
        });
        const consume = steps.consume!;
        if (consume.status === 'failed' && consume.error_info?.code === 'path_forbidden') refused += 1;
      }
    } finally {
      recordHostile('artifacts_in through planted links', {
        attempts: cases.length,
        refused,
        server_errors: 0,
        crashes,
      });
      runner.engine.close();
      await store.close();
    }
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('untouched');
    expect(existsSync(join(outside, 'report.csv'))).toBe(false);
    expect(readFileSync(hidden, 'utf8')).toBe('{"tokens":[]}');
    expect(existsSync(join(ws, '.maestro', 'x.db'))).toBe(false);
    expect(refused).toBe(cases.length);
  });
});

describe('hostile: reads beside an unknown need', () => {
  it('a plan whose step needs an unknown id and reads a sibling (expression or artifacts_in) is PLAN_INVALID', async () => {
    const store = await openStore('memory://');
    const engine = new Engine({ store });
    const reads: Array<Record<string, unknown>> = [
      { with: { outputs: { a: '${{ steps.produce.outputs }}' } } },
      { if: '${{ steps.produce.status == "succeeded" }}' },
      { artifacts_in: [{ step: 'produce', name: 'report', path: 'in/report.csv' }] },
    ];
    const codes: string[] = [];
    try {
      for (const read of reads) {
        const plan = {
          name: 'ghost-need',
          steps: [
            { id: 'produce', uses: 'noop', artifacts: [{ type: 'report', path: 'out/report.csv', name: 'report' }] },
            { id: 'consume', uses: 'noop', needs: ['produce', 'ghost'], ...read },
          ],
        } as Plan;
        try {
          engine.compile(plan);
          codes.push('compiled');
        } catch (error) {
          codes.push(isMaestroError(error) ? error.code : 'crash');
        }
      }
    } finally {
      recordHostile('unknown need beside a read of a sibling', {
        attempts: reads.length,
        refused: codes.filter((code) => code === 'PLAN_INVALID').length,
        server_errors: codes.filter((code) => code === 'INTERNAL').length,
        crashes: codes.filter((code) => code === 'crash').length,
      });
      engine.close();
      await store.close();
    }
    expect(codes).toEqual(reads.map(() => 'PLAN_INVALID'));
  });
});
