import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EventDocument, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { jsonLines, MAESTRO, MAESTRO_RUN, runCli, startCli } from '../support/spawn-cli.js';
import { recordFigures } from './support/figures.js';

// The FerretDB binary .ci/run builds (it exports the path); this suite stops and starts its own instance.
const ferretdbBinary = process.env.MAESTRO_FERRETDB_BIN;

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, up: boolean): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open === up) return;
    await sleep(50);
  }
  throw new Error(`port ${port} did not become ${up ? 'open' : 'closed'}`);
}

/** A FerretDB on loopback that can be stopped and started again on the same port and data. */
class FerretDb {
  private process: ChildProcess | undefined;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'maestro-ferret-'));

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.process = spawn(ferretdbBinary!, ['--handler=sqlite', `--sqlite-url=file:${this.dataDir}/`, `--state-dir=${this.dataDir}`, `--listen-addr=127.0.0.1:${this.port}`, '--debug-addr=-', '--telemetry=disable', '--log-level=ERROR'], { stdio: 'ignore' });
    await waitForPort(this.port, true);
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await waitForPort(this.port, false);
  }
}

function writePlan(cwd: string): void {
  writeFileSync(join(cwd, 'plan.json'), JSON.stringify({
    name: 'outage',
    steps: Array.from({ length: 20 }, (_, i) => ({ id: `s${i}`, uses: 'sleep', with: { ms: 120 }, ...(i ? { needs: [`s${i - 1}`] } : {}) })),
  }));
}

async function inspect(cwd: string, env: Record<string, string>, runId: string) {
  const shown = JSON.parse((await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd, env })).stdout) as { run: RunDocument; steps: StepDocument[] };
  const events = jsonLines((await runCli(MAESTRO, ['runs', 'events', runId, '--json'], { cwd, env })).stdout) as unknown as EventDocument[];
  const succeededKeys = events.filter((e) => e.type === 'step.succeeded').map((e) => String(e.data.key));
  return {
    status: shown.run.status,
    steps: shown.steps.filter((s) => s.status === 'succeeded').length,
    duplicates: succeededKeys.length - new Set(succeededKeys).size,
    gapFree: events.every((e, i) => e.seq === i + 1),
  };
}

async function waitForSteps(stdout: () => string, count: number, child: ChildProcess): Promise<void> {
  while ((stdout().match(/"step\.succeeded"/g) ?? []).length < count && child.exitCode === null) await sleep(10);
}

describe('store outage', () => {
  it('a run outlives a short outage of its MongoDB-wire server, and a long one fails it cleanly for resume', async () => {
    if (!ferretdbBinary || !existsSync(ferretdbBinary)) {
      console.log('!!! store outage SKIPPED: MAESTRO_FERRETDB_BIN does not name a FerretDB binary (bash .ci/run builds one)');
      return;
    }
    const server = new FerretDb(await freePort());
    await server.start();
    try {
      // A short outage: the runner waits it out with backoff, logs it, and finishes.
      const cwd = mkdtempSync(join(tmpdir(), 'maestro-fault-outage-'));
      writePlan(cwd);
      const env = { MAESTRO_STORE: `mongodb://127.0.0.1:${server.port}/outage`, MAESTRO_STORE_OUTAGE_MS: '30000', MAESTRO_LEASE_MS: '20000', MAESTRO_POLL_MS: '50' };
      const runner = startCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd, env, timeoutMs: 120_000 });
      let out = '';
      runner.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitForSteps(() => out, 5, runner);
      await server.stop();
      await sleep(3000);
      await server.start();
      const result = await runner.output;
      const runId = (jsonLines(out.split('\n')[0]!)[0] as { event: RunDocument }).event.run_id;
      const short = await inspect(cwd, env, runId);
      const retries = (result.stderr.match(/store unavailable/g) ?? []).length;

      // A long outage: past the limit the runner stops with STORE_UNAVAILABLE; after the server is back, resume finishes.
      const cwd2 = mkdtempSync(join(tmpdir(), 'maestro-fault-outage-'));
      writePlan(cwd2);
      const env2 = { ...env, MAESTRO_STORE: `mongodb://127.0.0.1:${server.port}/outage_long`, MAESTRO_STORE_OUTAGE_MS: '2000', MAESTRO_LEASE_MS: '2000' };
      const second = startCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd: cwd2, env: env2, timeoutMs: 120_000 });
      let out2 = '';
      second.stdout!.on('data', (chunk: Buffer) => (out2 += chunk.toString()));
      await waitForSteps(() => out2, 5, second);
      await server.stop();
      const failed = await second.output;
      await server.start();
      const runId2 = (jsonLines(out2.split('\n')[0]!)[0] as { event: RunDocument }).event.run_id;
      const resumed = await runCli(MAESTRO_RUN, ['--resume', runId2, '--json'], { cwd: cwd2, env: env2, timeoutMs: 120_000 });
      const long = await inspect(cwd2, env2, runId2);

      recordFigures({ fault: 'store outage (3 s, then past the limit)', runs: 2, kills: 2, steps: short.steps + long.steps, duplicates: short.duplicates + long.duplicates, lost: 40 - short.steps - long.steps, errors: (result.code === 0 ? 0 : 1) + (resumed.code === 0 ? 0 : 1), outage_retries: retries, long_outage_exit: failed.code ?? -1 });
      expect(result.code).toBe(0);
      expect(retries).toBeGreaterThan(0);
      expect(short).toEqual({ status: 'succeeded', steps: 20, duplicates: 0, gapFree: true });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('STORE_UNAVAILABLE');
      expect(resumed.code).toBe(0);
      expect(long).toEqual({ status: 'succeeded', steps: 20, duplicates: 0, gapFree: true });
    } finally {
      await server.stop();
    }
  }, 240_000);
});
