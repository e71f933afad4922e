import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MaestroError } from '../../domain/errors.js';

/**
 * NeDB keeps its data in memory and rewrites its files on load and compaction, so two processes on one
 * directory would lose each other's writes. This lock file makes a second opener fail clearly instead;
 * a lock left by a killed process (its pid is gone) is taken over.
 */
export class NedbDirectoryLock {
  private constructor(private readonly path: string) {}

  static acquire(directory: string): NedbDirectoryLock {
    mkdirSync(directory, { recursive: true });
    const path = join(directory, 'LOCK');
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new NedbDirectoryLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
        if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
          throw new MaestroError(
            'STORE_UNAVAILABLE',
            `the embedded store at ${directory} is in use by process ${holder}; use MongoDB to share a store between processes`,
            {
              retryable: true,
              details: { directory, pid: holder },
            },
          );
        }
        unlinkSync(path); // stale: its process is gone
      }
    }
    throw new MaestroError('STORE_UNAVAILABLE', `could not lock the embedded store at ${directory}`, {
      retryable: true,
    });
  }

  release(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
