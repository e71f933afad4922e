/**
 * Documents as JSON text in SQLite. Dates become `{"$date":"<ISO-8601>"}`: the stored form never has another key
 * starting with `$` (user keys are escaped, see stored-form.ts), so the tag is unambiguous, and its text sorts and
 * compares chronologically in SQL (json_extract returns it as that text) for the years 0000–9999 that schema-valid
 * dates hold.
 */
const DATE_TAG = '$date';

/** The JSON text a Date is stored as; also what SQL compares a Date in a filter against. */
export function dateText(date: Date): string {
  return JSON.stringify({ [DATE_TAG]: Number.isNaN(date.getTime()) ? null : date.toISOString() });
}

/** Every tagged date's text starts with this, and only those do; the next code point after `"` bounds the range. */
export const DATE_TEXT_FROM = `{"${DATE_TAG}":"`;
export const DATE_TEXT_BEFORE = `{"${DATE_TAG}":#`;

export function encodeDocument(doc: Record<string, unknown>): string {
  return JSON.stringify(doc, function (this: Record<string, unknown>, key: string, value: unknown) {
    // The replacer sees Date#toJSON's string; the holder still has the Date.
    const raw = this[key];
    return raw instanceof Date ? { [DATE_TAG]: Number.isNaN(raw.getTime()) ? null : raw.toISOString() } : value;
  });
}

export function decodeDocument(text: string): Record<string, unknown> {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && DATE_TAG in value) {
      const keys = Object.keys(value);
      if (keys.length === 1) {
        const iso = (value as Record<string, unknown>)[DATE_TAG];
        return new Date(typeof iso === 'string' ? iso : Number.NaN);
      }
    }
    return value;
  }) as Record<string, unknown>;
}
