import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { MaestroError } from '../../domain/errors.js';

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || !(rel === '..' || rel.startsWith(`..${'/'}`) || isAbsolute(rel));
}

/** The real path of a path that may not exist yet: its nearest existing ancestor resolved, the rest appended. */
export function realpathOfMaybeMissing(path: string): string {
  const missing: string[] = [];
  for (let cursor = path; ; cursor = dirname(cursor)) {
    try {
      return join(realpathSync(cursor), ...missing.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(cursor) === cursor) throw error;
      missing.push(basename(cursor));
    }
  }
}

/**
 * A path inside a root; anything that would escape it is refused: `..`, an absolute path elsewhere, or a symlink
 * (anywhere along the path) that leads out. The error names the field, never what the path holds.
 */
export function resolveWithin(root: string, path: string, field: string, rootName = 'the workspace'): string {
  const base = resolve(root);
  const target = resolve(base, path);
  const refuse = (why: string) =>
    new MaestroError('PATH_FORBIDDEN', `${field}: "${path}" ${why} ${rootName} ${base}`, {
      details: { path: field, expected: `a path inside ${rootName}`, got: path },
    });
  if (!isInside(base, target)) throw refuse('is outside');
  if (!isInside(realpathOfMaybeMissing(base), realpathOfMaybeMissing(target)))
    throw refuse('leads (through a symlink) outside');
  return target;
}

/** A path inside the workspace (see resolveWithin). */
export function resolveInWorkspace(workspace: string, path: string, field: string): string {
  return resolveWithin(workspace, path, field);
}
