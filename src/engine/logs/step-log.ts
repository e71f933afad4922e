import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { openForAppend } from '../trust/no-follow-file.js';
import { dirname, join } from 'node:path';
import { MaestroError } from '../../domain/errors.js';
import type { LogShipper } from './log-shipper.js';
import type { MaskingStream } from '../secrets/masking-stream.js';
import type { SecretMasker } from '../secrets/secret-masker.js';
import type { StepLogger } from '../executors/step-context.js';

/** Where one attempt of a step writes its log file on the runner that runs it. */
export function stepLogPath(logsDir: string, runId: string, stepKey: string, attempt: number): string {
  return join(logsDir, runId, `${stepKey.replace(/[^A-Za-z0-9._[\]-]/g, '_')}.${attempt}.log`);
}

export interface StepLogOptions {
  masker?: SecretMasker;
  /** Sends the masked bytes to the store as they are written, so any machine can read the log live. */
  shipper?: LogShipper;
  /** Bytes the attempt may log (default: no limit); the write that passes them is cut there, `onLimit` called once. */
  maxBytes?: number;
  /** Told when the limit is passed: the attempt is stopped with this LOG_TOO_LARGE error. */
  onLimit?: (error: MaestroError) => void;
}

/**
 * One attempt's log: the file `logs_ref` names on this runner, and (with a shipper) the same bytes as chunks in the
 * store. Opened on first write. Every secret the run knows is masked on the bytes a program writes, also when a
 * secret (or one of its multi-byte characters) is split across chunks: the last bytes that could begin a secret are
 * held back until the next chunk or close. Past `maxBytes` nothing more is kept but one line saying why.
 */
export class StepLog implements StepLogger {
  private stream: WriteStream | undefined;
  /** The path held something other than a regular file (a link or FIFO planted there): nothing is written. */
  private refused = false;
  private masking: MaskingStream | undefined;
  private readonly masker: SecretMasker | undefined;
  private written = 0;
  private overLimit = false;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly options: StepLogOptions = {},
  ) {
    this.masker = options.masker;
  }

  write(text: string | Buffer): void {
    const chunk = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    if (!this.masking && (!this.masker || this.masker.isEmpty)) return this.append(chunk);
    this.masking ??= this.masker!.stream();
    this.append(this.masking.push(chunk));
  }

  info(message: string): void {
    this.write(`[info] ${message}\n`);
  }

  warn(message: string): void {
    this.write(`[warn] ${message}\n`);
  }

  error(message: string): void {
    this.write(`[error] ${message}\n`);
  }

  /** A note for this runner's file only: about the store's copy of the log, which it may not reach. */
  noteInFile(message: string): void {
    this.toFile(Buffer.from(`[maestro] ${message}\n`));
  }

  /** Ends the file and hands the tail to the store (bounded: a store that does not answer is given up on). */
  async close(): Promise<void> {
    if (this.masking) this.append(this.masking.end());
    // The shipper first: what it could not store is noted in the file, which ends after it.
    await this.options.shipper?.close();
    this.closed = true;
    const stream = this.stream;
    if (stream) await new Promise<void>((done) => stream.end(done));
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0 || this.overLimit) return;
    const maxBytes = this.options.maxBytes ?? Infinity;
    if (this.written + bytes.length > maxBytes) {
      this.overLimit = true;
      const error = new MaestroError(
        'LOG_TOO_LARGE',
        `the log of this step attempt passed its limit of ${maxBytes} bytes (MAESTRO_MAX_LOG_BYTES); the rest was not kept`,
        { retryable: false, details: { max_log_bytes: maxBytes } },
      );
      this.keep(bytes.subarray(0, maxBytes - this.written));
      this.keep(Buffer.from(`\n[error] ${error.message}\n`));
      this.options.onLimit?.(error);
      return;
    }
    this.keep(bytes);
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.written += bytes.length;
    this.options.shipper?.push(bytes);
    this.toFile(bytes);
  }

  private toFile(bytes: Buffer): void {
    if (this.refused || this.closed) return;
    if (!this.stream) {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      try {
        this.stream = createWriteStream('', { fd: openForAppend(this.path) });
      } catch {
        this.refused = true;
        return;
      }
    }
    this.stream.write(bytes);
  }
}
