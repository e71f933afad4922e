import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EventDocument, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import { unavailable } from '../support/backends.js';
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
    this.process = spawn(
      ferretdbBinary!,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${this.dataDir}/`,
        `--state-dir=${this.dataDir}`,
        `--listen-addr=127.0.0.1:${this.port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=ERROR',
      ],
      { stdio: 'ignore' },
    );
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

// A gate step waits for a file the test creates while the server is down, so the runner is provably mid-run and
// must record the gate's result during the outage; the steps after it need the store back.
const GATE_SCRIPT =
  "const fs=require('fs');const t=setInterval(()=>{if(fs.existsSync('release')){clearInterval(t);console.log(JSON.stringify({released:true}))}},25)";
const STEPS = 6;

function writePlan(cwd: string): void {
  writeFileSync(
    join(cwd, 'plan.json'),
    JSON.stringify({
      name: 'outage',
      steps: [
        { id: 'gate', uses: 'exec', with: { command: ['node', '-e', GATE_SCRIPT] } },
        ...Array.from({ length: STEPS - 1 }, (_, i) => ({
          id: `s${i}`,
          uses: 'sleep',
          with: { ms: 50 },
          needs: [i ? `s${i - 1}` : 'gate'],
        })),
      ],
    }),
  );
}

async function inspect(cwd: string, env: Record<string, string>, runId: string) {
  const shown = JSON.parse((await runCli(MAESTRO, ['runs', 'show', runId, '--json'], { cwd, env })).stdout) as {
    run: RunDocument;
    steps: StepDocument[];
  };
  const events = jsonLines(
    (await runCli(MAESTRO, ['runs', 'events', runId, '--json'], { cwd, env })).stdout,
  ) as unknown as EventDocument[];
  const succeededKeys = events.filter((e) => e.type === 'step.succeeded').map((e) => String(e.data.key));
  return {
    status: shown.run.status,
    steps: shown.steps.filter((s) => s.status === 'succeeded').length,
    duplicates: succeededKeys.length - new Set(succeededKeys).size,
    gapFree: events.every((e, i) => e.seq === i + 1),
    gate: shown.steps.find((s) => s.key === 'gate')?.outputs,
  };
}

/** Resolves once the runner has recorded that the gate step started: from then on it is mid-run against the store. */
async function waitForGate(stdout: () => string, child: ChildProcess): Promise<void> {
  while (!/"step\.started".*"key":"gate"/.test(stdout()) && child.exitCode === null) await sleep(10);
  if (child.exitCode !== null) throw new Error(`the runner ended (${child.exitCode}) before the gate step started`);
}

describe('store outage', () => {
  it.skipIf(unavailable(ferretdbBinary !== undefined && existsSync(ferretdbBinary)))(
    'a run outlives a short outage of its MongoDB-wire server, and a long one fails it cleanly for resume',
    async () => {
      if (!ferretdbBinary || !existsSync(ferretdbBinary))
        throw new Error('MAESTRO_FERRETDB_BIN does not name a FerretDB binary (bash .ci/run builds one)');
      const server = new FerretDb(await freePort());
      await server.start();
      // Server selection gives up after 1 s, so a 3 s outage is seen as one by every store call made in it.
      const storeUrl = (db: string) => `mongodb://127.0.0.1:${server.port}/${db}?serverSelectionTimeoutMS=1000`;
      try {
        // A short outage: the gate step ends while the server is down; the runner waits it out and records it.
        const cwd = mkdtempSync(join(tmpdir(), 'maestro-fault-outage-'));
        writePlan(cwd);
        const env = {
          MAESTRO_STORE: storeUrl('outage'),
          MAESTRO_STORE_OUTAGE_MS: '30000',
          MAESTRO_LEASE_MS: '20000',
          MAESTRO_POLL_MS: '50',
        };
        const runner = startCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd, env, timeoutMs: 120_000 });
        let out = '';
        runner.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
        await waitForGate(() => out, runner);
        await server.stop();
        writeFileSync(join(cwd, 'release'), '');
        await sleep(3000);
        await server.start();
        const result = await runner.output;
        const runId = (jsonLines(out.split('\n')[0]!)[0] as { event: RunDocument }).event.run_id;
        const short = await inspect(cwd, env, runId);
        const retries = (result.stderr.match(/store unavailable/g) ?? []).length;

        // A long outage: past the limit the runner stops with STORE_UNAVAILABLE; after the server is back, resume finishes.
        const cwd2 = mkdtempSync(join(tmpdir(), 'maestro-fault-outage-'));
        writePlan(cwd2);
        const env2 = {
          ...env,
          MAESTRO_STORE: storeUrl('outage_long'),
          MAESTRO_STORE_OUTAGE_MS: '2000',
          MAESTRO_LEASE_MS: '2000',
        };
        const second = startCli(MAESTRO_RUN, ['plan.json', '--json'], { cwd: cwd2, env: env2, timeoutMs: 120_000 });
        let out2 = '';
        second.stdout!.on('data', (chunk: Buffer) => (out2 += chunk.toString()));
        await waitForGate(() => out2, second);
        await server.stop();
        writeFileSync(join(cwd2, 'release'), '');
        const failed = await second.output;
        await server.start();
        const runId2 = (jsonLines(out2.split('\n')[0]!)[0] as { event: RunDocument }).event.run_id;
        const resumed = await runCli(MAESTRO_RUN, ['--resume', runId2, '--json'], {
          cwd: cwd2,
          env: env2,
          timeoutMs: 120_000,
        });
        const long = await inspect(cwd2, env2, runId2);

        recordFigures({
          fault: 'store outage (3 s, then past the limit)',
          runs: 2,
          kills: 2,
          steps: short.steps + long.steps,
          duplicates: short.duplicates + long.duplicates,
          lost: 2 * STEPS - short.steps - long.steps,
          errors: (result.code === 0 ? 0 : 1) + (resumed.code === 0 ? 0 : 1),
          outage_retries: retries,
          long_outage_exit: failed.code ?? -1,
        });
        expect(result.code).toBe(0);
        // The gate's result was written during the outage, so the runner had to retry at least once.
        expect(retries).toBeGreaterThan(0);
        expect(short).toEqual({
          status: 'succeeded',
          steps: STEPS,
          duplicates: 0,
          gapFree: true,
          gate: { released: true },
        });
        expect(failed.code).toBe(1);
        expect(failed.stderr).toContain('STORE_UNAVAILABLE');
        expect(resumed.code).toBe(0);
        expect(long).toMatchObject({ status: 'succeeded', steps: STEPS, duplicates: 0, gapFree: true });
      } finally {
        await server.stop();
      }
    },
    240_000,
  );
});
