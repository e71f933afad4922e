import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { makeRun, makeStep } from '../support/documents.js';
import { REPO_ROOT } from '../support/spawn-cli.js';

const RUNS = 20;
const STEPS_PER_RUN = 10;

// A claimer process: opens the store, says it is ready, waits for the go, then tries to claim every step (in an
// order of its own, so the two meet all along) and, once both are there, runs until none is left (both take the
// oldest claimable run each time: every claim is contended); prints what it won and when it tried.
const CLAIMER = `
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
const { openStore } = await import(process.env.STORE_MODULE);
const [url, name, dir] = process.argv.slice(2);
const store = await openStore(url);
const stepIds = JSON.parse(readFileSync(dir + '/step-ids.json', 'utf8'));
writeFileSync(dir + '/ready-' + name, '');
while (!existsSync(dir + '/go')) await sleep(2);
const lease = () => ({ owner: name, now: new Date().toISOString(), expires_at: new Date(Date.now() + 600000).toISOString() });
const order = stepIds.map((id) => [Math.random(), id]).sort((a, b) => a[0] - b[0]).map(([, id]) => id);
const won = { steps: [], runs: [], first: Date.now(), last: 0 };
for (const id of order) if (await store.claimStep(id, lease())) won.steps.push(id);
writeFileSync(dir + '/steps-done-' + name, '');
while (!existsSync(dir + '/steps-done-left') || !existsSync(dir + '/steps-done-right')) await sleep(2);
for (;;) {
  const run = await store.claimRun(undefined, lease());
  if (!run) break;
  won.runs.push(run.run_id);
}
won.last = Date.now();
await store.close();
process.stdout.write(JSON.stringify(won));
`;

interface Won {
  steps: string[];
  runs: string[];
  first: number;
  last: number;
}

function startClaimer(dir: string, url: string, name: string): Promise<Won> {
  const child = spawn(process.execPath, [join(dir, 'claimer.mjs'), url, name, dir], {
    env: { ...process.env, STORE_MODULE: pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'store', 'open.js')).href },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(stdout) as Won);
      else reject(new Error(`claimer ${name} exited ${code}: ${stderr}`));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'maestro-sqlite-claims-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('two processes on one SQLite file', () => {
  it('claim every step and every run exactly once between them, at the same time', { timeout: 90_000 }, async () => {
    const url = `sqlite://${join(dir, 'maestro.db')}`;
    const setup = await openStore(url);
    const stepIds: string[] = [];
    for (let r = 0; r < RUNS; r += 1) {
      const run = makeRun();
      const steps = Array.from({ length: STEPS_PER_RUN }, (_, s) => makeStep(run.run_id, `s${s}`));
      await setup.createRun(run, steps);
      stepIds.push(...steps.map((step) => step.step_id));
    }
    await setup.close();
    writeFileSync(join(dir, 'step-ids.json'), JSON.stringify(stepIds));
    writeFileSync(join(dir, 'claimer.mjs'), CLAIMER);

    const claimers = ['left', 'right'].map((name) => startClaimer(dir, url, name));
    // Both have the store open before either claims anything.
    const deadline = Date.now() + 30_000;
    while (!['left', 'right'].every((name) => existsSync(join(dir, `ready-${name}`)))) {
      if (Date.now() > deadline) throw new Error('claimers did not get ready');
      await sleep(10);
    }
    writeFileSync(join(dir, 'go'), '');
    const [left, right] = (await Promise.all(claimers)) as [Won, Won];

    // They claimed at the same time: each one's claims began before the other's ended.
    expect(left.first).toBeLessThan(right.last);
    expect(right.first).toBeLessThan(left.last);
    const doubleSteps = left.steps.filter((id) => right.steps.includes(id));
    const doubleRuns = left.runs.filter((id) => right.runs.includes(id));
    expect({ doubleSteps, doubleRuns }).toEqual({ doubleSteps: [], doubleRuns: [] });
    expect(new Set([...left.steps, ...right.steps])).toEqual(new Set(stepIds));
    expect(left.runs.length + right.runs.length).toBe(RUNS);

    // What is stored agrees: each step and run is held by the process that won it, once (fence 1, attempt 1).
    const store = await openStore(url);
    try {
      const winner = new Map<string, string>([
        ...left.steps.map((id): [string, string] => [id, 'left']),
        ...right.steps.map((id): [string, string] => [id, 'right']),
      ]);
      for (const id of stepIds) {
        const step = await store.getStep(id);
        expect(step).toMatchObject({ status: 'running', attempt: 1, lease: { owner: winner.get(id), fence: 1 } });
      }
      for (const [owner, runIds] of [
        ['left', left.runs],
        ['right', right.runs],
      ] as const) {
        for (const id of runIds) expect((await store.getRun(id))?.lease).toMatchObject({ owner, fence: 1 });
      }
    } finally {
      await store.close();
    }
    console.log(
      `claims: left ${left.steps.length} steps ${left.runs.length} runs, right ${right.steps.length} steps ${right.runs.length} runs`,
    );
  });
});
