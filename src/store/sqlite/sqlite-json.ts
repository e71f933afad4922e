import { defineOwn } from '../../domain/own-property.js';

/**
 * Documents as JSON text in SQLite. Dates become `{"$date":"<ISO-8601>"}`: the stored form never has another key
 * starting with `$` (user keys are escaped, see stored-form.ts), so the tag is unambiguous, and its text sorts and
 * compares chronologically in SQL (json_extract returns it as that text) for the years 0000–9999 that schema-valid
 * dates hold.
 */
export const DATE_TAG = '$date';

/** The JSON text a Date is stored as; also what SQL compares a Date in a filter against. */
export function dateText(date: Date): string {
  // An ISO-8601 string holds nothing JSON escapes.
  return Number.isNaN(date.getTime()) ? `{"${DATE_TAG}":null}` : `{"${DATE_TAG}":"${date.toISOString()}"}`;
}

/** Every tagged date's text starts with this, and only those do; the next code point after `"` bounds the range. */
export const DATE_TEXT_FROM = `{"${DATE_TAG}":"`;
export const DATE_TEXT_BEFORE = `{"${DATE_TAG}":#`;

export function encodeDocument(doc: Record<string, unknown>): string {
  return JSON.stringify(withTaggedDates(doc));
}

/** A field's value as stored JSON text; undefined for what JSON has no text for (undefined, functions). */
export function encodeValue(value: unknown): string | undefined {
  return JSON.stringify(withTaggedDates(value));
}

export function decodeDocument(text: string): Record<string, unknown> {
  const doc = JSON.parse(text) as Record<string, unknown>;
  reviveDates(doc);
  return doc;
}

/**
 * The value with every Date replaced by its tag, copying only the objects and arrays on the way to a Date (the rest
 * is shared, never changed). A walk instead of a JSON.stringify replacer, which V8 calls for every key.
 */
function withTaggedDates(value: unknown): unknown {
  if (value instanceof Date) return { [DATE_TAG]: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index += 1) {
      const item: unknown = value[index];
      const tagged = withTaggedDates(item);
      if (tagged !== item) (copy ??= value.slice())[index] = tagged;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const inner = (value as Record<string, unknown>)[key];
    const tagged = withTaggedDates(inner);
    if (tagged !== inner) defineOwn((copy ??= { ...value }), key, tagged);
  }
  return copy ?? value;
}

/** Turns every date tag of a freshly parsed document into a Date, in place (a walk: a JSON.parse reviver is slow). */
function reviveDates(root: object): void {
  const holders: object[] = [root];
  while (holders.length > 0) {
    const holder = holders.pop() as Record<string, unknown>;
    for (const key of Object.keys(holder)) {
      const inner = holder[key];
      if (inner === null || typeof inner !== 'object') continue;
      const date = dateOfTag(inner);
      if (date) defineOwn(holder, key, date);
      else holders.push(inner);
    }
  }
}

/** The Date a `{"$date": …}` object stands for; undefined for any other object or array. */
function dateOfTag(value: object): Date | undefined {
  if (Array.isArray(value) || !Object.hasOwn(value, DATE_TAG)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const iso = (value as Record<string, unknown>)[DATE_TAG];
  return new Date(typeof iso === 'string' ? iso : Number.NaN);
}
