import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBubblewrapAvailable } from '../../src/engine/executors/exec-sandbox.js';
import { unavailable } from '../support/backends.js';
import { jsonLines, MAESTRO_RUN, runCli } from '../support/spawn-cli.js';

function workspaceWithPlan(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'maestro-store-in-ws-'));
  writeFileSync(
    join(cwd, 'out.json'),
    JSON.stringify({
      name: 'out',
      outputs: { said: '${{ steps.say.outputs.said }}' },
      steps: [
        {
          id: 'say',
          uses: 'exec',
          with: { command: ['sh', '-c', 'printf \'{"said":"from the sandbox"}\' > "$MAESTRO_OUTPUT"'] },
        },
      ],
    }),
  );
  return cwd;
}

describe.skipIf(unavailable(isBubblewrapAvailable()))(
  'a store placed in the workspace, exec steps in the sandbox',
  () => {
    it('with the store at the workspace’s .maestro itself, a step still writes $MAESTRO_OUTPUT', async () => {
      const cwd = workspaceWithPlan();
      const result = await runCli(MAESTRO_RUN, ['out.json', '--json'], {
        cwd,
        env: { MAESTRO_STORE: `nedb://${join(cwd, '.maestro')}`, MAESTRO_SANDBOX: 'on' },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(jsonLines(result.stdout).at(-1)).toMatchObject({
        type: 'result',
        run: { status: 'succeeded', outputs: { said: 'from the sandbox' } },
      });
    });

    it('a store directory that is the workspace (or holds it) is refused at start, naming both', async () => {
      const cwd = workspaceWithPlan();
      for (const store of ['nedb://.', `nedb://${join(cwd, '..')}`]) {
        const result = await runCli(MAESTRO_RUN, ['out.json'], {
          cwd,
          env: { MAESTRO_STORE: store, MAESTRO_SANDBOX: 'on' },
        });
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toContain('CONFIG_INVALID');
        expect(result.stderr).toContain(`the workspace ${cwd}`);
      }
    });
  },
);
