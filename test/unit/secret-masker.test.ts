import { describe, expect, it } from 'vitest';
import { ByteAutomaton } from '../../src/engine/secrets/byte-automaton.js';
import { MaskingStream } from '../../src/engine/secrets/masking-stream.js';
import { SecretMasker } from '../../src/engine/secrets/secret-masker.js';

/** The reference: every byte inside any occurrence of any pattern is masked, each run of such bytes as one `***`. */
function naiveMask(text: Buffer, patterns: Buffer[]): string {
  const covered = new Array<boolean>(text.length).fill(false);
  for (const pattern of patterns)
    for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1))
      for (let i = at; i < at + pattern.length; i += 1) covered[i] = true;
  // Runs that only touch are separate masks, as the stream writes them.
  const starts = new Set<number>();
  for (const pattern of patterns)
    for (let at = text.indexOf(pattern); at !== -1; at = text.indexOf(pattern, at + 1)) starts.add(at);
  const parts: Buffer[] = [];
  let maskUntil = -1;
  for (let i = 0; i < text.length; i += 1) {
    if (!covered[i]) {
      parts.push(text.subarray(i, i + 1));
      continue;
    }
    if (i >= maskUntil) parts.push(Buffer.from('***'));
    for (const pattern of patterns)
      if (starts.has(i) && text.subarray(i, i + pattern.length).equals(pattern))
        maskUntil = Math.max(maskUntil, i + pattern.length);
    maskUntil = Math.max(maskUntil, i + 1);
  }
  return Buffer.concat(parts).toString('latin1');
}

/** A small deterministic generator (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('secret masker', () => {
  const secret = 'Sé"cr\\et/+ x{1}';
  const masker = new SecretMasker();
  masker.add(secret);
  const url = new URL('http://h/');
  url.pathname = `/${secret}`;
  const pathForm = url.pathname.slice(1);
  url.search = `?${secret}`;
  const queryForm = url.search.slice(1);
  const hex = Buffer.from(secret).toString('hex');

  it.each([
    ['raw', secret],
    ['JSON-escaped', JSON.stringify({ t: secret })],
    ['JSON-escaped, ASCII only', '"S\\u00e9\\"cr\\\\et/+ x{1}"'],
    ['hex', hex],
    ['HEX', hex.toUpperCase()],
    ['base64', Buffer.from(secret).toString('base64')],
    ['base64url', Buffer.from(secret).toString('base64url')],
    ['basic auth, user of 1', Buffer.from(`u:${secret}`).toString('base64')],
    ['basic auth, user of 2', Buffer.from(`us:${secret}`).toString('base64')],
    ['basic auth, user of 3', Buffer.from(`usr:${secret}:more`).toString('base64')],
    ['encodeURIComponent', encodeURIComponent(secret)],
    ['form-urlencoded', new URLSearchParams({ q: secret }).toString()],
    ['WHATWG path', `http://h/a/${pathForm}/b`],
    ['WHATWG query', `http://h/?q=${queryForm}`],
    ['host, lower case', `cannot resolve ${secret.toLowerCase()}.invalid`],
  ])('masks the %s form', (_form, text) => {
    const masked = masker.maskText(text);
    expect(masked).toContain('***');
    expect(masked).not.toContain(secret);
    // No base64 run left in it decodes to the secret at any offset.
    for (const run of masked.match(/[A-Za-z0-9+/_-]{8,}/g) ?? [])
      for (let offset = 0; offset < 4; offset += 1)
        expect(Buffer.from(run.slice(offset), 'base64').includes(Buffer.from(secret))).toBe(false);
  });

  it('finds a secret split at every byte, a multi-byte character included, as the whole text does', () => {
    const text = Buffer.from(`before ${secret} between ${hex} after ${secret}`);
    const whole = masker.maskText(text.toString('utf8'));
    for (let cut = 0; cut <= text.length; cut += 1) {
      const stream = masker.stream();
      const out = Buffer.concat([stream.push(text.subarray(0, cut)), stream.push(text.subarray(cut)), stream.end()]);
      expect(out.toString('utf8')).toBe(whole);
    }
    const bytewise = masker.stream();
    const parts = [...text].map((byte) => bytewise.push(Buffer.from([byte])));
    expect(Buffer.concat([...parts, bytewise.end()]).toString('utf8')).toBe(whole);
    expect(whole).toBe('before *** between *** after ***');
  });

  it('holds back only what may begin a form, and masks a secret added while bytes were held back', () => {
    const late = new SecretMasker();
    late.add('secret-A1');
    const stream = late.stream();
    expect(stream.push(Buffer.from('plain text ')).toString()).toBe('plain text ');
    expect(stream.push(Buffer.from('and sec')).toString()).toBe('and ');
    late.add('second-secret');
    const out = Buffer.concat([stream.push(Buffer.from('ond-secret done')), stream.end()]).toString();
    expect(out).toBe('*** done');
  });

  it('masks overlapping and nested forms as one region, and leaves a text without a form untouched', () => {
    const patterns = ['abcab', 'cabx', 'bc'].map((p) => Buffer.from(p));
    const stream = new MaskingStream(() => automaton);
    const automaton = new ByteAutomaton(patterns);
    const out = Buffer.concat([stream.push(Buffer.from('zabcabxz bc abab')), stream.end()]).toString();
    expect(out).toBe('z***z *** abab');
    const lone = 'no secret \ud800 here';
    expect(masker.maskText(lone)).toBe(lone);
  });

  it('agrees with a naive union of occurrences on random texts, patterns and chunkings', () => {
    const next = random(31);
    const pick = (alphabet: string, length: number): string =>
      Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    for (let round = 0; round < 300; round += 1) {
      const patterns = Array.from({ length: 1 + Math.floor(next() * 4) }, () =>
        Buffer.from(pick('abc', 1 + Math.floor(next() * 5)), 'latin1'),
      );
      const text = Buffer.from(pick('abcd', Math.floor(next() * 40)), 'latin1');
      const automaton = new ByteAutomaton(patterns);
      const stream = new MaskingStream(() => automaton);
      const parts: Buffer[] = [];
      for (let at = 0; at < text.length;) {
        const size = 1 + Math.floor(next() * 6);
        parts.push(stream.push(text.subarray(at, at + size)));
        at += size;
      }
      parts.push(stream.end());
      expect(Buffer.concat(parts).toString('latin1'), `${text.toString()} / ${patterns.join(',')}`).toBe(
        naiveMask(text, patterns),
      );
    }
  });
});
