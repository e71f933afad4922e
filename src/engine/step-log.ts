import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SecretMasker } from './secrets/secret-masker.js';
import type { StepLogger } from './step-context.js';

/** Where one attempt of a step writes its log: also where `runs logs -f` looks before the attempt has ended. */
export function stepLogPath(logsDir: string, runId: string, stepKey: string, attempt: number): string {
  return join(logsDir, runId, `${stepKey.replace(/[^A-Za-z0-9._[\]-]/g, '_')}.${attempt}.log`);
}

/**
 * One attempt's log file (`logs_ref`). Opened on first write. Every secret the run knows is masked, also when a
 * program's output splits it across two chunks: the last characters that could begin a secret are held back
 * until the next chunk or close.
 */
export class StepLog implements StepLogger {
  private stream: WriteStream | undefined;
  private heldBack = '';

  constructor(
    readonly path: string,
    private readonly masker?: SecretMasker,
  ) {}

  write(text: string | Buffer): void {
    const chunk = typeof text === 'string' ? text : text.toString('utf8');
    if (!this.masker || this.masker.isEmpty) return this.append(chunk);
    const combined = this.heldBack + chunk;
    const cut = this.safeCut(combined);
    this.heldBack = combined.slice(cut);
    if (cut > 0) this.append(this.masker.maskText(combined.slice(0, cut)));
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
    if (this.heldBack !== '') {
      this.append(this.masker ? this.masker.maskText(this.heldBack) : this.heldBack);
      this.heldBack = '';
    }
    const stream = this.stream;
    if (!stream) return;
    await new Promise<void>((done) => stream.end(done));
  }

  /** Where to cut: everything before it is safe to mask and write now (no secret can straddle it). */
  private safeCut(text: string): number {
    // A secret that is not complete yet starts within the last (longest - 1) characters.
    let cut = Math.max(0, text.length - (this.masker!.longest - 1));
    // A complete one across the cut is written whole, so it is masked whole.
    for (let moved = true; moved;) {
      moved = false;
      for (const at of this.masker!.occurrences(text)) {
        if (at.start < cut && at.end > cut) {
          cut = at.end;
          moved = true;
        }
      }
    }
    return cut;
  }

  private append(text: string): void {
    if (text === '') return;
    if (!this.stream) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.stream = createWriteStream(this.path, { flags: 'a' });
    }
    this.stream.write(text);
  }
}
