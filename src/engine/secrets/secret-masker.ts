/** The text every secret form is replaced with. */
export const MASK = '***';
/** Shorter values are not masked: masking "a" would shred every log and prove nothing. */
const MIN_MASKED_LENGTH = 4;

/** A value and the encodings it commonly travels in (base64 for basic auth and k8s, URL-encoded in query strings). */
function formsOf(value: string): string[] {
  const forms = [
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    encodeURIComponent(value),
  ];
  return [...new Set(forms)].filter((form) => form.length >= MIN_MASKED_LENGTH);
}

/**
 * Replaces every secret value known to a run (and its base64 and URL-encoded forms) by `***`, in text and in JSON
 * values, before anything reaches a log, the store, an event, a hook, the API or the terminal.
 */
export class SecretMasker {
  private forms: string[] = [];

  add(value: string): void {
    const known = new Set(this.forms);
    for (const form of formsOf(value)) if (!known.has(form)) this.forms.push(form);
    // Longest first, so a value that contains another is masked whole.
    this.forms.sort((a, b) => b.length - a.length);
  }

  get isEmpty(): boolean {
    return this.forms.length === 0;
  }

  /** The longest form: a streaming writer holds back this many characters minus one between chunks. */
  get longest(): number {
    return this.forms[0]?.length ?? 0;
  }

  /** Where secret forms occur in a text (for a streaming writer choosing where it may cut). */
  occurrences(text: string): Array<{ start: number; end: number }> {
    const found: Array<{ start: number; end: number }> = [];
    for (const form of this.forms) {
      for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1))
        found.push({ start: at, end: at + form.length });
    }
    return found;
  }

  maskText(text: string): string {
    let masked = text;
    for (const form of this.forms) if (masked.includes(form)) masked = masked.split(form).join(MASK);
    return masked;
  }

  /** A JSON value with every string (keys included) masked; the input is left untouched. */
  maskValue<T>(value: T): T {
    if (this.isEmpty) return value;
    return this.maskAny(value) as T;
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
