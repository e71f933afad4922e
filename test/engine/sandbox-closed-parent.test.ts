import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBubblewrapAvailable } from '../../src/engine/executors/exec-sandbox.js';
import { Engine } from '../../src/maestro-engine.js';
import { openStore } from '../../src/store/open.js';
import { unavailable } from '../support/backends.js';

const asRoot = process.getuid?.() === 0;

/**
 * A root runner's sandboxed steps run as an unprivileged user, who must reach the workspace through the directories
 * above it: a workspace under `/root` or a mkdtemp directory (mode 700) failed every exec step ("bwrap: Can't find
 * source path … Permission denied").
 */
describe('a root runner with its workspace under a directory closed to other users', () => {
  it.skipIf(unavailable(asRoot && isBubblewrapAvailable()))(
    'runs its exec steps in the sandbox as the step user, who may pass through the closed directory and nothing more',
    async () => {
      if (!asRoot || !isBubblewrapAvailable()) throw new Error('needs root and bwrap (bash .ci/run installs it)');
      const closed = mkdtempSync(join(tmpdir(), 'maestro-closed-'));
      expect(statSync(closed).mode & 0o077).toBe(0);
      const workspace = join(closed, 'repo');
      mkdirSync(workspace);
      const planPath = join(workspace, 'plan.json');
      const script =
        "require('fs').writeFileSync('made', String(process.getuid())); console.log(JSON.stringify({ listed: (() => { try { return require('fs').readdirSync('..').length; } catch (e) { return e.code; } })() }))";
      writeFileSync(
        planPath,
        JSON.stringify({
          name: 'closed',
          steps: [{ id: 'write', uses: 'exec', with: { command: ['node', '-e', script] } }],
        }),
      );
      const store = await openStore('memory://');
      const engine = new Engine({ store, workspace, sandbox: 'on', pollMs: 20 });
      try {
        const plan = await engine.applyPlanFile(planPath);
        const { run } = await engine.startRun(plan, {});
        const ended = await engine.executeRun(run.run_id);
        const detail = await engine.getRunDetail(run.run_id);
        expect(detail.steps[0]?.error_info).toBeUndefined();
        expect(ended?.status).toBe('succeeded');
        expect(readFileSync(join(workspace, 'made'), 'utf8')).toBe('65534');
        // Passing through is all the step user gets of the closed directory: no entry to read or list it.
        const entries = execFileSync('getfacl', ['-pn', closed], { encoding: 'utf8' });
        expect(entries).toMatch(/^user:65534:--x$/m);
        expect(entries).toMatch(/^other::---$/m);
      } finally {
        engine.close();
        await store.close();
      }
    },
  );
});
