import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBubblewrapAvailable } from '../../src/engine/executors/exec-sandbox.js';
import { Engine } from '../../src/maestro-engine.js';
import { openStore } from '../../src/store/open.js';
import { unavailable } from '../support/backends.js';
import { jsonLines, MAESTRO_RUN, runCli } from '../support/spawn-cli.js';

function workspaceWithPlan(storeFile = 'store.db'): string {
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
          with: {
            command: [
              'sh',
              '-c',
              'printf \'{"said":"%s"}\' "$(head -c 15 "$1" | tr -cd "A-Za-z ")" > "$MAESTRO_OUTPUT"',
              'sh',
              storeFile,
            ],
          },
        },
      ],
    }),
  );
  return cwd;
}

describe.skipIf(unavailable(isBubblewrapAvailable()))(
  'a store placed in the workspace, exec steps in the sandbox',
  () => {
    it('with the store in the workspace’s .maestro or beside the plan, a step writes $MAESTRO_OUTPUT and reads no store', async () => {
      for (const [store, file] of [
        ['sqlite://.maestro/maestro.db', '.maestro/maestro.db'],
        ['sqlite://store.db', 'store.db'],
      ] as const) {
        const cwd = workspaceWithPlan(file);
        const result = await runCli(MAESTRO_RUN, ['out.json', '--json'], {
          cwd,
          env: { MAESTRO_STORE: store, MAESTRO_SANDBOX: 'on' },
        });
        expect(result.code, result.stderr).toBe(0);
        // The step read the store's file: hidden (empty), never its "SQLite format" header.
        expect(jsonLines(result.stdout).at(-1)).toMatchObject({
          type: 'result',
          run: { status: 'succeeded', outputs: { said: '' } },
        });
      }
    });

    it('a hidden directory that is the workspace or holds it is refused when the runner starts, naming both', async () => {
      const cwd = workspaceWithPlan();
      const store = await openStore('memory://');
      try {
        for (const hidden of [cwd, dirname(cwd)]) {
          expect(() => new Engine({ store, workspace: cwd, sandbox: 'on', hiddenPaths: [hidden] })).toThrow(
            expect.objectContaining({
              code: 'CONFIG_INVALID',
              message: expect.stringContaining(`the workspace ${cwd}`) as unknown,
            }) as Error,
          );
        }
      } finally {
        await store.close();
      }
    });
  },
);
