import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EventDocument } from '../../src/generated/schemas.js';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli, startCli } from '../support/spawn-cli.js';

describe('hook delivery across a runner kill', () => {
  it('redelivers after resume: every stored event reaches the hook at least once, in seq order per delivery', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-hook-kill-'));
    const env = { MAESTRO_LEASE_MS: '1500', MAESTRO_POLL_MS: '50', MAESTRO_HOOKS_CONFIG: 'hooks.json' };
    writeFileSync(
      join(cwd, 'recorder.mjs'),
      `
      import { appendFileSync } from 'node:fs';
      export function createHook() {
        // Slow on purpose, so a kill leaves stored events undelivered.
        return { name: 'recorder', on: { '*': async (event) => {
          await new Promise((resolve) => setTimeout(resolve, 25));
          appendFileSync('delivered.log', process.pid + ' ' + event.seq + '\\n');
        } } };
      }
    `,
    );
    writeFileSync(join(cwd, 'hooks.json'), JSON.stringify({ hooks: { recorder: { module: './recorder.mjs' } } }));
    writeFileSync(
      join(cwd, 'plan.json'),
      JSON.stringify({
        name: 'hooked',
        hooks: ['recorder'],
        steps: Array.from({ length: 20 }, (_, i) => ({
          id: `s${i}`,
          uses: 'sleep',
          with: { ms: 40 },
          ...(i ? { needs: [`s${i - 1}`] } : {}),
        })),
      }),
    );
    const first = startCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd, env });
    let stdout = '';
    first.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    while ((stdout.match(/"step\.succeeded"/g) ?? []).length < 8 && first.exitCode === null) await sleep(10);
    first.kill('SIGKILL');
    await first.output;
    const runId = (jsonLines(stdout.split('\n')[0]!)[0] as { event: { run_id: string } }).event.run_id;
    const resumed = await runCli(MAESTRO_RUN, ['--resume', runId, '--json'], { cwd, env });
    expect(resumed.code).toBe(0);

    const events = jsonLines(
      (await runCli(MAESTRO, ['runs', 'events', runId, '--json'], { cwd, env })).stdout,
    ) as unknown as EventDocument[];
    const deliveries = readFileSync(join(cwd, 'delivered.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ').map(Number) as [number, number]);
    const delivered = new Set(deliveries.map(([, seq]) => seq));
    expect([...delivered].sort((a, b) => a - b)).toEqual(events.map((e) => e.seq));
    for (const pid of new Set(deliveries.map(([p]) => p))) {
      const seqs = deliveries.filter(([p]) => p === pid).map(([, seq]) => seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    const pids = new Set(deliveries.map(([p]) => p));
    expect(pids.size).toBe(2);
    // The resumed runner delivered what the killed one had stored but not delivered.
    const [killedPid] = [...pids];
    const beforeKill = deliveries.filter(([p]) => p === killedPid).map(([, seq]) => seq);
    expect(Math.max(...beforeKill)).toBeLessThan(Math.max(...events.map((e) => e.seq)));
    console.log(
      `hook redelivery: ${events.length} events, ${deliveries.length} deliveries over ${pids.size} processes`,
    );
  }, 60_000);
});
