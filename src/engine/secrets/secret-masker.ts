import { ByteAutomaton } from './byte-automaton.js';
import { MaskingStream } from './masking-stream.js';
import { secretForms } from './secret-forms.js';

export { MASK } from './masking-stream.js';

/**
 * Replaces every secret value known to a run, in every form a tool commonly prints it (see secretForms), by `***`,
 * in text, in JSON values and in byte streams, before anything reaches a log, the store, an event, a hook, the API or
 * the terminal. Matching is on UTF-8 bytes in one pass (Aho–Corasick), so the work is linear in the text whatever
 * the number of secrets, and a form split across writes is still found.
 */
export class SecretMasker {
  private readonly forms = new Set<string>();
  private automaton: ByteAutomaton | undefined;

  add(value: string): void {
    const before = this.forms.size;
    for (const form of secretForms(value)) this.forms.add(form);
    if (this.forms.size !== before) this.automaton = undefined;
  }

  get isEmpty(): boolean {
    return this.forms.size === 0;
  }

  /** A masking stream over this masker's forms, also those added after it was opened. */
  stream(): MaskingStream {
    return new MaskingStream(() => this.currentAutomaton());
  }

  maskText(text: string): string {
    if (this.isEmpty || text === '') return text;
    const stream = this.stream();
    const head = stream.push(Buffer.from(text, 'utf8'));
    const tail = stream.end();
    // Nothing found: the text is kept as it was (a lone surrogate would not survive a trip through UTF-8).
    if (!stream.found) return text;
    return Buffer.concat([head, tail]).toString('utf8');
  }

  /** A JSON value with every string (keys included) masked; the input is left untouched. */
  maskValue<T>(value: T): T {
    if (this.isEmpty) return value;
    return this.maskAny(value) as T;
  }

  private currentAutomaton(): ByteAutomaton {
    this.automaton ??= new ByteAutomaton([...this.forms].map((form) => Buffer.from(form, 'utf8')));
    return this.automaton;
  }

  private maskAny(value: unknown): unknown {
    if (typeof value === 'string') return this.maskText(value);
    if (Array.isArray(value)) return value.map((item) => this.maskAny(item));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value))
        Object.defineProperty(out, this.maskText(key), {
          value: this.maskAny(inner),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      return out;
    }
    return value;
  }
}
