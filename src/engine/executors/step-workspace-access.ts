import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { MaestroError } from '../../domain/errors.js';

function setfacl(uid: number, args: readonly string[]): void {
  const result = spawnSync('setfacl', ['-P', ...args], { encoding: 'utf8', timeout: 120_000 });
  if (result.error || result.status !== 0)
    throw new MaestroError(
      'CONFIG_INVALID',
      `a root runner's sandboxed steps run as uid ${uid} and need the workspace ` +
        `granted to them with setfacl (package acl): ${result.error?.message ?? result.stderr.trim()}`,
      { details: { path: 'sandbox', expected: 'setfacl on PATH and a file system with POSIX ACLs' } },
    );
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Lets the unprivileged user a root runner's steps run as read and write the workspace, and nothing of the
 * runner's in it: an ACL entry for that uid on the workspace and everything in it (default entries on
 * directories, so what is created later is theirs to use too), never on the workspace's .maestro nor on a hidden
 * file inside the workspace (tokens, secrets). Owners and modes stay as they were; a physical walk (-P) follows
 * no link a step left in the workspace.
 */
export function grantWorkspaceTo(uid: number, workspace: string, hidden: readonly string[]): void {
  // .maestro exists before the workspace gets default entries, so it and what the runner writes in it inherit none.
  const state = join(workspace, '.maestro');
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const entry = `u:${uid}:rwX`;
  setfacl(uid, ['-m', `${entry},d:${entry}`, '--', workspace]);
  const children = readdirSync(workspace)
    .filter((name) => name !== '.maestro')
    .map((name) => join(workspace, name));
  if (children.length > 0) setfacl(uid, ['-R', '-m', `${entry},d:${entry}`, '--', ...children]);
  const withdrawn = [state, ...hidden.filter((path) => inside(workspace, path) && existsSync(path))];
  setfacl(uid, ['-R', '-x', `u:${uid},d:u:${uid}`, '--', ...withdrawn]);
  grantPassageTo(uid, workspace);
}

/**
 * The step user reaches the workspace through the directories above it (bubblewrap binds it as that user): one that
 * lets no other user through (`/root`, a mkdtemp directory) gets an entry letting this one pass, never list or read.
 */
function grantPassageTo(uid: number, workspace: string): void {
  const closed: string[] = [];
  for (let dir = dirname(workspace); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) closed.push(dir);
    if (dirname(dir) === dir) break;
  }
  if (closed.length > 0) setfacl(uid, ['-m', `u:${uid}:x`, '--', ...closed]);
}
