import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RunDocument } from '../../src/generated/schemas.js';
import { dropMongoDatabase, freshMongoUrl, mongoStoreEntries, requireBase, unavailable } from '../support/backends.js';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli, startCli } from '../support/spawn-cli.js';

/** A parent over a child over a grandchild that each sleep 5 s. */
function writeTree(cwd: string): void {
  writeFileSync(
    join(cwd, 'grandchild.json'),
    JSON.stringify({ name: 'grandchild', steps: [{ id: 'nap', uses: 'sleep', with: { ms: 5000 } }] }),
  );
  writeFileSync(
    join(cwd, 'child.json'),
    JSON.stringify({
      name: 'child',
      steps: [
        { id: 'nap', uses: 'sleep', with: { ms: 5000 } },
        { id: 'deeper', uses: 'plan', with: { plan: 'grandchild.json' } },
      ],
    }),
  );
  writeFileSync(
    join(cwd, 'parent.json'),
    JSON.stringify({ name: 'parent', steps: [{ id: 'sub', uses: 'plan', with: { plan: 'child.json' } }] }),
  );
}

/** Starts the tree and resolves once the grandchild run has started (so a stop must travel two levels down). */
async function startTree(cwd: string, env: Record<string, string> = {}) {
  writeTree(cwd);
  const child = startCli(MAESTRO_RUN, ['parent.json', '--json'], { cwd, env });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  while ((out.match(/"run\.started"/g) ?? []).length < 3 && child.exitCode === null) await sleep(20);
  const runIds = [...new Set(jsonLines(out).map((line) => (line.event as { run_id: string }).run_id))];
  return { child, runIds, output: () => out };
}

function statusesOf(stdout: string): Map<string, string> {
  const statuses = new Map<string, string>();
  for (const line of jsonLines(stdout)) {
    const event = line.event as { run_id: string; type: string } | undefined;
    if (event && /^run\.(succeeded|failed|cancelled)$/.test(event.type))
      statuses.set(event.run_id, event.type.slice(4));
  }
  return statuses;
}

describe('stopping a run tree from the command line', () => {
  it('Ctrl-C on maestro-run cancels the run, its child and grandchild, and exits 130 within 2.5 s', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-tree-'));
    const { child, runIds } = await startTree(cwd);
    expect(runIds).toHaveLength(3);
    const interruptedAt = Date.now();
    child.kill('SIGINT');
    const result = await child.output;
    expect(Date.now() - interruptedAt).toBeLessThan(2_500);
    expect(result.code).toBe(130);
    const statuses = statusesOf(result.stdout);
    expect(runIds.map((id) => statuses.get(id))).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  describe.each(mongoStoreEntries())('on $name', ({ base }) => {
    it.skipIf(unavailable(base !== undefined))(
      '`maestro runs cancel` from another process cancels the whole tree and the runner exits promptly',
      async () => {
        const url = freshMongoUrl(requireBase(base));
        const cwd = mkdtempSync(join(tmpdir(), 'maestro-tree-'));
        const env = { MAESTRO_STORE: url, MAESTRO_POLL_MS: '100' };
        try {
          const { child, runIds } = await startTree(cwd, env);
          const cancel = await runCli(MAESTRO, ['runs', 'cancel', runIds[0]!, '--json'], { cwd, env });
          expect(cancel.code).toBe(0);
          // Timed from the recorded request: starting the second CLI process is not the runner's delay.
          const cancelledAt = Date.now();
          const result = await child.output;
          expect(Date.now() - cancelledAt).toBeLessThan(2_500);
          // Not interrupted itself: a run that ended other than succeeded exits 1.
          expect(result.code).toBe(1);
          for (const runId of runIds) {
            const shown = JSON.parse(
              (await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd, env })).stdout,
            ) as { run: RunDocument };
            expect(shown.run.status).toBe('cancelled');
          }
        } finally {
          await dropMongoDatabase(url);
        }
      },
    );
  });
});
