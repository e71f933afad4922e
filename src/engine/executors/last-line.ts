import { StringDecoder } from 'node:string_decoder';
import { MaestroError } from '../../domain/errors.js';
import { Limits } from '../../domain/json-limits.js';

/** The longest last line of stdout read as outputs; past it, outputs belong in $MAESTRO_OUTPUT. */
export const LAST_LINE_CHARS = 256 * 1024;

/**
 * Keeps the last non-empty line of a program's stdout as it streams (bounded), to read a final JSON object as
 * the step's outputs. A last line that starts like JSON but is too long to keep is an error, not `{}`.
 */
export class LastLine {
  private current = '';
  private currentLength = 0;
  private currentStart = '';
  private last = { text: '', length: 0, start: '' };
  private readonly decoder = new StringDecoder('utf8');

  /** A chunk of stdout: bytes are decoded across chunks, so a character split between two arrives whole. */
  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    for (const piece of text.split(/(\n)/)) {
      if (piece === '\n') {
        if (this.current.trim() !== '' || this.currentLength > LAST_LINE_CHARS)
          this.last = { text: this.current, length: this.currentLength, start: this.currentStart };
        this.current = '';
        this.currentLength = 0;
        this.currentStart = '';
        continue;
      }
      if (this.currentStart === '') this.currentStart = piece.trimStart().charAt(0);
      this.currentLength += piece.length;
      if (this.currentLength <= LAST_LINE_CHARS) this.current += piece;
    }
  }

  /** The outputs a final JSON-object line gives, if the last non-empty line is one. */
  outputs(): Record<string, unknown> | undefined {
    const line =
      this.current.trim() !== '' || this.currentLength > LAST_LINE_CHARS
        ? { text: this.current, length: this.currentLength, start: this.currentStart }
        : this.last;
    if (line.start !== '{') return undefined;
    if (line.length > LAST_LINE_CHARS) {
      throw new MaestroError(
        'OUTPUT_TOO_LARGE',
        `the last line of stdout is ${line.length} characters, over ${LAST_LINE_CHARS}: write large outputs to $MAESTRO_OUTPUT (up to ${Limits.outputsBytes} bytes) or to a file attached as an artifact`,
        {
          retryable: false,
          details: { limit: 'last_line_chars', expected: `at most ${LAST_LINE_CHARS} characters` },
        },
      );
    }
    try {
      const parsed: unknown = JSON.parse(line.text.trim());
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }
}
