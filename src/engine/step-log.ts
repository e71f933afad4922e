import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { openForAppend } from './no-follow-file.js';
import { dirname, join } from 'node:path';
import type { MaskingStream } from './secrets/masking-stream.js';
import type { SecretMasker } from './secrets/secret-masker.js';
import type { StepLogger } from './step-context.js';

/** Where one attempt of a step writes its log: also where `runs logs -f` looks before the attempt has ended. */
export function stepLogPath(logsDir: string, runId: string, stepKey: string, attempt: number): string {
  return join(logsDir, runId, `${stepKey.replace(/[^A-Za-z0-9._[\]-]/g, '_')}.${attempt}.log`);
}

/**
 * One attempt's log file (`logs_ref`). Opened on first write. Every secret the run knows is masked on the bytes a
 * program writes, also when a secret (or one of its multi-byte characters) is split across chunks: the last bytes
 * that could begin a secret are held back until the next chunk or close.
 */
export class StepLog implements StepLogger {
  private stream: WriteStream | undefined;
  /** The path held something other than a regular file (a link or FIFO planted there): nothing is written. */
  private refused = false;
  private masking: MaskingStream | undefined;

  constructor(
    readonly path: string,
    private readonly masker?: SecretMasker,
  ) {}

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

  async close(): Promise<void> {
    if (this.masking) this.append(this.masking.end());
    const stream = this.stream;
    if (!stream) return;
    await new Promise<void>((done) => stream.end(done));
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0 || this.refused) return;
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
