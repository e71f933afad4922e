import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

/** Whether exec steps run inside bubblewrap: `auto` when it is installed (Linux), `on` requires it, `off` never. */
export type SandboxMode = 'auto' | 'on' | 'off';

export interface SandboxLayout {
  /** The only tree a step may write, besides its own /tmp and its attempt directory. */
  workspace: string;
  /** Where the step writes $MAESTRO_OUTPUT and $MAESTRO_COST: a directory of this attempt alone, outside the logs. */
  attemptDirectory: string;
  /** Trees the step may read but not change. */
  readOnly: readonly string[];
  /** Files and directories the step must not see at all: the workspace's .maestro, the store, keys, tokens, secrets. */
  hidden: readonly string[];
  cwd: string;
}

/** The unprivileged user a root runner's sandboxed steps run as, on the files too (nobody/nogroup). */
export const STEP_UID = 65534;
export const STEP_GID = 65534;

/**
 * Whom bubblewrap is started as: a root runner starts it as STEP_UID, so that the step is that user outside its
 * namespace as well (in a namespace of root's own, a step is root on every file: /etc/shadow reads). Any other
 * runner starts it as itself.
 */
export function sandboxUser(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? { uid: STEP_UID, gid: STEP_GID } : undefined;
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
      ...sandboxUser(),
    }).status === 0;
  return bwrapFound;
}

function isolationFlags(): string[] {
  // A user namespace of an unprivileged user: bubblewrap needs it to mount, and it gives no power over the host.
  return [
    '--die-with-parent',
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--cap-drop',
    'ALL',
  ];
}

/**
 * The argv that runs a program in a bubblewrap sandbox: a PID namespace of its own (every descendant, detached or
 * not, dies with it), no capabilities, the system read-only, a private /tmp, the workspace the only writable
 * tree besides the attempt's own directory, and the workspace's .maestro (logs, attestations, the store), keys,
 * tokens and every file the runner's configuration names replaced by nothing. The attempt's directory is bound
 * last, so nothing hidden covers it. The network is shared: steps call services.
 */
export function sandboxedArgv(
  program: string,
  args: readonly string[],
  layout: SandboxLayout,
): { program: string; args: string[]; uid?: number; gid?: number } {
  const argv = isolationFlags();
  argv.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  argv.push('--bind', layout.workspace, layout.workspace);
  for (const path of layout.readOnly) if (existsSync(path)) argv.push('--ro-bind', path, path);
  for (const path of layout.hidden) {
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) argv.push('--tmpfs', path);
    else argv.push('--ro-bind', '/dev/null', path);
  }
  argv.push('--bind', layout.attemptDirectory, layout.attemptDirectory);
  argv.push('--chdir', layout.cwd, '--', program, ...args);
  return { program: 'bwrap', args: argv, ...sandboxUser() };
}
