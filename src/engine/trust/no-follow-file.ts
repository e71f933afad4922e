import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { MaestroError } from '../../domain/errors.js';

/**
 * Files a step could have replaced are opened without following a final symbolic link, and non-blocking, so a FIFO
 * or a device left in their place can neither hand the runner another file nor hold one of its threads. Only a
 * regular file is then accepted (fstat of what was opened, not of the path).
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const APPEND_FLAGS =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function notRegular(label: string, why: string): MaestroError {
  return new MaestroError('STEP_FAILED', `${label} is ${why}, not a regular file: the runner does not read it`, {
    retryable: false,
    details: { path: label },
  });
}

/**
 * The text of a file a step wrote (`$MAESTRO_OUTPUT`, `$MAESTRO_COST`), or undefined when there is none. A link, a
 * FIFO, a directory or a device fails the step; so does a file over `maxBytes` (read no further than that).
 */
export async function readStepWrittenFile(path: string, label: string, maxBytes: number): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw notRegular(label, 'a symbolic link');
    throw notRegular(label, `unreadable (${code ?? 'error'})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notRegular(label, stat.isFIFO() ? 'a FIFO' : 'a special file or directory');
    if (stat.size > maxBytes)
      throw new MaestroError('OUTPUT_TOO_LARGE', `${label} holds ${stat.size} bytes, more than ${maxBytes}`, {
        retryable: false,
        details: { path: label, limit: maxBytes },
      });
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * A descriptor to append to, opened the way a log must be where a step might have planted something: a link
 * (ELOOP) or anything but a regular file is refused with an error, and nothing is written through it.
 */
export function openForAppend(path: string): number {
  const fd = openSync(path, APPEND_FLAGS, 0o600);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EFTYPE' });
  }
  return fd;
}
