import { readFileSync, realpathSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';

/**
 * Text from the store or a log, made safe for a terminal: escape sequences and control characters (but newline
 * and tab) are removed, so a step's output or an error message cannot move the cursor, retitle the window or
 * rewrite what the operator sees.
 */
export function stripControlSequences(text: string): string {
  /* eslint-disable no-control-regex -- matching control characters is the point here */
  return text
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
  /* eslint-enable no-control-regex */
}

/**
 * A step's log, when `logs_ref` names a file under this workspace's `.maestro/logs` (a ref reported over the API
 * may name anything; it is shown, never opened). Undefined when it is elsewhere or missing.
 */
export function readStepLog(logsRef: string | undefined, workspace = process.cwd()): string | undefined {
  if (!logsRef) return undefined;
  try {
    const logsRoot = realpathSync(join(workspace, '.maestro', 'logs'));
    const real = realpathSync(logsRef);
    const rel = relative(logsRoot, real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
    return stripControlSequences(readFileSync(real, 'utf8'));
  } catch {
    return undefined;
  }
}
