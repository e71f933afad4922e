import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

/** Whether exec steps run inside bubblewrap: `auto` when it is installed (Linux), `on` requires it, `off` never. */
export type SandboxMode = 'auto' | 'on' | 'off';

export interface SandboxLayout {
  /** The only tree a step may write, besides its own /tmp and its attempt directory. */
  workspace: string;
  /** Where the step writes $MAESTRO_OUTPUT and $MAESTRO_COST. */
  attemptDirectory: string;
  /** Trees the step may read but not change (the workspace's .maestro: ledgers, lineage, attestations, logs). */
  readOnly: readonly string[];
  /** Files and directories the step must not see at all: the store, keys, tokens, secrets files. */
  hidden: readonly string[];
  cwd: string;
}

let bwrapFound: boolean | undefined;

/**
 * Whether bubblewrap is installed and works here, asked once per process by running `true` in the same kind of
 * sandbox: where user or PID namespaces are not allowed (some containers), `auto` then runs steps without one.
 */
export function isBubblewrapAvailable(): boolean {
  bwrapFound ??=
    spawnSync('bwrap', [...isolationFlags(), '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--', 'true'], {
      stdio: 'ignore',
      timeout: 10_000,
    }).status === 0;
  return bwrapFound;
}

function isolationFlags(): string[] {
  const flags = ['--die-with-parent', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--cap-drop', 'ALL'];
  if (process.getuid?.() === 0) flags.push('--unshare-user', '--uid', '65534', '--gid', '65534');
  return flags;
}

/**
 * The argv that runs a program in a bubblewrap sandbox: a PID namespace of its own (every descendant, detached or
 * not, dies with it), no capabilities, the system read-only, a private /tmp, the workspace the only writable
 * tree, and the runner's store, keys and tokens replaced by nothing. As root, the step is uid 65534 in its own
 * user namespace. The network is shared: steps call services.
 */
export function sandboxedArgv(
  program: string,
  args: readonly string[],
  layout: SandboxLayout,
): { program: string; args: string[] } {
  const argv = isolationFlags();
  argv.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  argv.push('--bind', layout.workspace, layout.workspace);
  for (const path of layout.readOnly) if (existsSync(path)) argv.push('--ro-bind', path, path);
  argv.push('--bind', layout.attemptDirectory, layout.attemptDirectory);
  for (const path of layout.hidden) {
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) argv.push('--tmpfs', path);
    else argv.push('--ro-bind', '/dev/null', path);
  }
  argv.push('--chdir', layout.cwd, '--', program, ...args);
  return { program: 'bwrap', args: argv };
}
