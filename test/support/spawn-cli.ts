import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const MAESTRO_RUN = join(REPO_ROOT, 'bin', 'maestro-run.js');
export const MAESTRO = join(REPO_ROOT, 'bin', 'maestro.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Starts a real binary (`bin/…`) with node; the caller decides when it ends. */
export function startCli(
  bin: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildProcess & { output: Promise<CliResult> } {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    // The test MongoDB-wire servers on loopback need no credentials: runners with exec beside them are allowed here
    // (a test of that refusal sets MAESTRO_ALLOW_OPEN_STORE to '').
    env: { ...process.env, NO_COLOR: '1', MAESTRO_ALLOW_OPEN_STORE: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const output = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return Object.assign(child, { output });
}

/** Runs a real binary to its end. */
export function runCli(bin: string, args: readonly string[], options: SpawnOptions): Promise<CliResult> {
  return startCli(bin, args, options).output;
}

/** The JSON lines a `--json` command printed. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Starts `maestro serve` on a free loopback port and resolves once it says where it listens. */
export async function startServe(
  args: readonly string[],
  options: SpawnOptions,
): Promise<{ server: ReturnType<typeof startCli>; url: string }> {
  const server = startCli(MAESTRO, ['serve', '--port', '0', ...args], options);
  let stderr = '';
  server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const listening = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
  while (!listening.test(stderr)) {
    if (server.exitCode !== null) throw new Error(`maestro serve exited with ${server.exitCode}: ${stderr}`);
    await sleep(20);
  }
  return { server, url: listening.exec(stderr)![1]! };
}
