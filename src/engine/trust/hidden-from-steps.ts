import { statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { MaestroError } from '../../domain/errors.js';
import { realpathOfMaybeMissing } from './workspace-path.js';

/**
 * What no step may have the runner read for it: the workspace's `.maestro/` (store, keys, logs, ledgers,
 * attestations) and every file the runner's configuration names (tokens, secrets, hooks config, key files).
 */
export function hiddenFromSteps(workspace: string, configured: readonly string[]): readonly string[] {
  return [join(resolve(workspace), '.maestro'), ...configured.map((path) => resolve(path))];
}

function isAtOrUnder(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || !(rel === '..' || rel.startsWith('../') || isAbsolute(rel));
}

/** A hidden path as written and where its links lead (the tokens file may itself be a link). */
function formsOf(path: string): string[] {
  try {
    return [path, realpathOfMaybeMissing(path)];
  } catch {
    return [path];
  }
}

/**
 * Refuses a file a step names for the runner to read (a child plan) when it, or where its links lead, is hidden:
 * PATH_FORBIDDEN in the same words whether the file exists, parses or not, so the answer tells nothing of it.
 * A file that is not a regular file (a FIFO would hold a thread) is refused too.
 */
export function assertReadableForStep(path: string, hidden: readonly string[], field: string): void {
  const refuse = () =>
    new MaestroError('PATH_FORBIDDEN', `${field}: "${path}" is a path the runner hides from steps`, {
      details: { path: field, expected: 'a file outside .maestro/ and the files the runner is configured with' },
    });
  const targets = formsOf(resolve(path));
  if (hidden.some((entry) => formsOf(entry).some((form) => targets.some((target) => isAtOrUnder(form, target)))))
    throw refuse();
  let regular: boolean;
  try {
    regular = statSync(path).isFile();
  } catch {
    return; // Missing (or unreadable): the loader says so, as it does for any plan file.
  }
  if (!regular)
    throw new MaestroError('PLAN_INVALID', `${field}: "${path}" is not a regular file`, {
      details: { path: field, expected: 'a plan file' },
    });
}
