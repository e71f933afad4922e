import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { StepLogger } from './step-context.js';

/** One attempt's log file (`logs_ref`). Opened on first write; secrets given to it are masked. */
export class StepLog implements StepLogger {
  private stream: WriteStream | undefined;

  constructor(
    readonly path: string,
    private readonly secrets: readonly string[] = [],
  ) {}

  write(text: string | Buffer): void {
    if (!this.stream) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.stream = createWriteStream(this.path, { flags: 'a' });
    }
    this.stream.write(this.mask(typeof text === 'string' ? text : text.toString('utf8')));
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
    const stream = this.stream;
    if (!stream) return;
    await new Promise<void>((done) => stream.end(done));
  }

  private mask(text: string): string {
    return this.secrets.reduce((masked, secret) => (secret.length >= 4 ? masked.split(secret).join('***') : masked), text);
  }
}
