import { isAbsolute, relative, resolve } from 'node:path';
import { MaestroError } from '../domain/errors.js';

/** A path inside the workspace; anything that would escape it (`..`, an absolute path elsewhere) is refused. */
export function resolveInWorkspace(workspace: string, path: string, field: string): string {
  const root = resolve(workspace);
  const target = resolve(root, path);
  const rel = relative(root, target);
  if (rel === '..' || rel.startsWith(`..${'/'}`) || isAbsolute(rel)) {
    throw new MaestroError('PATH_FORBIDDEN', `${field}: "${path}" is outside the workspace ${root}`, {
      details: { path: field, expected: 'a path inside the workspace', got: path },
    });
  }
  return target;
}
