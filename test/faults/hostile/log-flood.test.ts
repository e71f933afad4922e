import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open.js';
import { unavailable } from '../../support/backends.js';
import { createHarness } from '../../support/engine-harness.js';
import { hostileStores, recordHostile, workspace } from './hostile-support.js';

const LIMIT = 256 * 1024;

describe.each(hostileStores())('hostile: a step that prints without end, on $name', ({ name, available, url }) => {
  it.skipIf(unavailable(available))(
    'is stopped at the log limit (LOG_TOO_LARGE): its file and the store keep no more than the limit',
    async () => {
      const cwd = workspace('log-flood');
      const store = await openStore(url(cwd));
      const h = createHarness(store, { maxLogBytes: LIMIT, workspace: cwd });
      const started = Date.now();
      try {
        const { run, steps } = await h.runPlan({
          name: 'flood',
          steps: [
            {
              id: 'flood',
              uses: 'exec',
              // Bounded so that without a log limit the test ends (with a huge log) instead of hanging.
              timeout_ms: 15_000,
              with: {
                command: [
                  'node',
                  '-e',
                  "const l = 'x'.repeat(8191) + '\\n'; const w = () => { while (process.stdout.write(l)); process.stdout.once('drain', w); }; w();",
                ],
              },
            },
          ],
        });
        const chunks = await store.blobs.listLogChunks({ run_id: run.run_id, key: 'flood', attempt: 1 }, -1, 10_000);
        const stored = chunks.reduce((sum, chunk) => sum + chunk.data.length, 0);
        const file = statSync(join(cwd, '.maestro', 'logs', run.run_id, 'flood.1.log')).size;
        const code = steps.flood!.error_info?.code;
        recordHostile(`endless step output (${name})`, {
          attempts: 1,
          refused: code === 'log_too_large' ? 1 : 0,
          server_errors: 0,
          crashes: 0,
          hangs: Date.now() - started > 15_000 ? 1 : 0,
        });
        expect(code).toBe('log_too_large');
        expect(run.status).toBe('failed');
        expect(stored).toBeLessThanOrEqual(LIMIT + 200);
        expect(stored).toBeGreaterThanOrEqual(LIMIT);
        expect(file).toBe(stored);
      } finally {
        h.engine.close();
        await store.close();
      }
    },
    60_000,
  );
});
