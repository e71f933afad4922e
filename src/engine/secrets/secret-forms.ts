import { domainToASCII } from 'node:url';

/** Shorter forms are not masked: masking "a" would shred every log and prove nothing. */
const MIN_MASKED_LENGTH = 4;

/** `"` and `\` escaped as JSON writes them (the exec argv echo, `JSON.stringify` of an object holding the value). */
function jsonForms(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  // Python's json.dumps (ensure_ascii) writes \u escapes for every non-ASCII character; PHP escapes `/`.
  const asciiOnly = escaped.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [escaped, asciiOnly, escaped.replaceAll('/', '\\/')];
}

/**
 * The part of a base64 text that only the value's bytes decide, when `offset` bytes (0, 1 or 2 modulo 3) come before
 * it in the encoded string: `user:secret` in basic auth puts the secret at any of the three offsets. The characters
 * that mix in bits of the neighbours are left out, so the form matches whatever surrounds the value.
 */
function base64Core(bytes: Buffer, offset: number, encoding: 'base64' | 'base64url'): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(encoding);
  const first = Math.ceil((8 * offset) / 6);
  const end = Math.floor((8 * (offset + bytes.length)) / 6);
  return encoded.slice(first, end);
}

function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (const encoding of ['base64', 'base64url'] as const) {
    forms.push(bytes.toString(encoding));
    for (const offset of [0, 1, 2]) forms.push(base64Core(bytes, offset, encoding));
  }
  return forms;
}

/**
 * The value as URLs carry it: encodeURIComponent and encodeURI, with lower-case hex as some tools write it,
 * application/x-www-form-urlencoded, and what the WHATWG serializer (`new URL`, used by `http` steps and most
 * tools) writes in a path, a query, a fragment and the user info. The serializer lower-cases a host and writes an
 * international one in punycode.
 */
function urlForms(value: string): string[] {
  const component = encodeURIComponent(value);
  const forms = [
    component,
    component.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    encodeURI(value),
    new URLSearchParams([['', value]]).toString().slice(1),
    value.toLowerCase(),
    domainToASCII(value),
  ];
  const url = new URL('http://h/');
  url.pathname = `/${value}`;
  forms.push(url.pathname.slice(1));
  url.search = `?${value}`;
  forms.push(url.search.slice(1));
  url.hash = `#${value}`;
  forms.push(url.hash.slice(1));
  url.username = value;
  forms.push(url.username);
  return forms;
}

/**
 * Every form a secret commonly travels in once a tool prints it: raw, JSON-escaped, hex (both cases), base64 and
 * base64url (also inside `user:secret`), and the URL encodings. Each is masked wherever it occurs.
 */
export function secretForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const hex = bytes.toString('hex');
  const forms = [value, ...jsonForms(value), hex, hex.toUpperCase(), ...base64Forms(bytes), ...urlForms(value)];
  return [...new Set(forms)].filter((form) => form.length >= MIN_MASKED_LENGTH);
}
