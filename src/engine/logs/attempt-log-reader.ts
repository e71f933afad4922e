import { closeSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import type { LogAddress, RunStore } from '../../store/port.js';
import { stepLogPath } from './step-log.js';

/** Chunks read per store call (at most 256 KiB each). */
const CHUNK_PAGE = 16;

/**
 * Reads one attempt's log from a byte offset, again and again as it grows: from the store's log chunks, where every
 * runner ships its steps' logs as it writes them (so a step run on another machine is read here). A log the store
 * has no chunks of once its attempt has ended was written before logs were stored: it is read from the file this
 * process's runner wrote, when there is one under `logsDir`.
 */
export class AttemptLogReader {
  private source: 'store' | 'file' | undefined;
  /** The last chunk read, and the byte position of the end of the chunks read. */
  private lastSeq = -1;
  private position = 0;

  constructor(
    private readonly store: RunStore,
    private readonly logsDir: string,
    private readonly address: LogAddress,
  ) {}

  /**
   * The bytes after `offset` stored so far, piece by piece, to `write` (which returns false to stop); returns the
   * offset reached. `ended`: the attempt writes nothing more (then a store without its chunks means an old log).
   */
  async readFrom(offset: number, ended: boolean, write: (chunk: Buffer) => Promise<boolean>): Promise<number> {
    if (this.source !== 'file') {
      const reached = await this.readChunks(offset, write);
      if (this.source === 'store' || !ended) return reached;
      this.source = 'file';
    }
    for (const chunk of readFileFrom(this.logsDir, this.filePath(), offset)) {
      offset += chunk.length;
      if (!(await write(chunk))) break;
    }
    return offset;
  }

  private async readChunks(offset: number, write: (chunk: Buffer) => Promise<boolean>): Promise<number> {
    for (;;) {
      const page = await this.store.blobs.listLogChunks(this.address, this.lastSeq, CHUNK_PAGE);
      for (const chunk of page) {
        this.source = 'store';
        const start = this.position;
        this.position += chunk.data.length;
        this.lastSeq = chunk.seq;
        if (this.position <= offset) continue;
        const piece = chunk.data.subarray(Math.max(0, offset - start));
        offset = this.position;
        if (!(await write(piece))) return offset;
      }
      if (page.length < CHUNK_PAGE) return offset;
    }
  }

  private filePath(): string {
    return stepLogPath(this.logsDir, this.address.run_id, this.address.key, this.address.attempt);
  }
}

/** The bytes of a log file from an offset, when the file is under `logsDir`; nothing when missing or elsewhere. */
function* readFileFrom(logsDir: string, path: string, offset: number): Generator<Buffer> {
  let fd: number;
  try {
    const real = realpathSync(path);
    const rel = relative(realpathSync(logsDir), real);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return;
    fd = openSync(real, 'r');
  } catch {
    return; // not written yet
  }
  try {
    for (let at = offset; ;) {
      const buffer = Buffer.alloc(64 * 1024);
      const read = readSync(fd, buffer, 0, buffer.length, at);
      if (read === 0) return;
      at += read;
      yield buffer.subarray(0, read);
    }
  } finally {
    closeSync(fd);
  }
}
