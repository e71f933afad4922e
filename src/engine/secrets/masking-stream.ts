import type { ByteAutomaton } from './byte-automaton.js';

/** The text every secret form is replaced with. */
export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);

interface Region {
  from: number;
  to: number;
  /** Its mask was written already (the region began before an earlier write's cut). */
  announced: boolean;
}

/**
 * Masks a byte stream written in chunks: every byte inside an occurrence of a form becomes part of one `***`, even
 * when the occurrence, or one of its multi-byte characters, is split across writes. Only the last bytes that may
 * still begin a form are held back, and the automaton's state is carried over, so the work is linear in what is
 * written. Positions are counted from the stream's first byte.
 */
export class MaskingStream {
  private state = 0;
  /** Bytes read but not written yet; the first is at position `base`. */
  private pending: Buffer = Buffer.alloc(0);
  private base = 0;
  /** Masked regions not written whole yet, in order, not overlapping. */
  private regions: Region[] = [];
  private automatonSeen: ByteAutomaton | undefined;
  /** True once any form was found: a caller may then keep its input untouched when nothing was. */
  found = false;

  constructor(private readonly automaton: () => ByteAutomaton) {}

  /** What may be written now of what was read so far. */
  push(chunk: Uint8Array): Buffer {
    const automaton = this.automaton();
    if (automaton !== this.automatonSeen) {
      // A secret joined meanwhile: read the held-back bytes again, so its forms are looked for there too.
      this.automatonSeen = automaton;
      this.state = 0;
      // Regions inside them are found again; only one that began before them is kept.
      this.regions = this.regions.filter((region) => region.from < this.base);
      this.read(automaton, this.pending, this.base);
    }
    const start = this.base + this.pending.length;
    this.read(automaton, chunk, start);
    const data = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    // A form that is not complete yet began within the last depth(state) bytes: the rest is final.
    return this.emit(data, start + chunk.length - automaton.depth(this.state));
  }

  /** Everything still held back, masked: the stream is over. */
  end(): Buffer {
    const rest = this.emit(this.pending, this.base + this.pending.length);
    this.state = 0;
    this.regions = [];
    return rest;
  }

  private read(automaton: ByteAutomaton, bytes: Uint8Array, start: number): void {
    const { fromRoot } = automaton;
    let state = this.state;
    for (let i = 0; i < bytes.length; i += 1) {
      state = state === 0 ? fromRoot[bytes[i]!]! : automaton.step(state, bytes[i]!);
      if (state === 0) continue;
      const length = automaton.matchLength(state);
      if (length > 0) this.cover(start + i + 1 - length, start + i + 1);
    }
    this.state = state;
  }

  /** Adds [from, to) to the masked regions, merged with those it overlaps. */
  private cover(from: number, to: number): void {
    this.found = true;
    let region: Region = { from, to, announced: false };
    for (let last = this.regions.at(-1); last && last.to > region.from; last = this.regions.at(-1)) {
      this.regions.pop();
      region = {
        from: Math.min(last.from, region.from),
        to: Math.max(last.to, region.to),
        announced: last.announced || region.announced,
      };
    }
    this.regions.push(region);
  }

  /** Writes the bytes of `data` (starting at `base`) before `cut`, masked; keeps the rest for later. */
  private emit(data: Buffer, cut: number): Buffer {
    const parts: Buffer[] = [];
    let at = this.base;
    let done = 0;
    for (const region of this.regions) {
      if (region.from >= cut) break;
      if (region.from > at) parts.push(data.subarray(at - this.base, region.from - this.base));
      if (!region.announced) parts.push(MASK_BYTES);
      region.announced = true;
      at = Math.max(at, Math.min(region.to, cut));
      if (region.to > cut) break;
      done += 1;
    }
    if (done > 0) this.regions = this.regions.slice(done);
    if (at < cut) parts.push(data.subarray(at - this.base, cut - this.base));
    // A copy: the held-back bytes are few, the chunk they came from may be large.
    this.pending = Buffer.from(data.subarray(cut - this.base));
    this.base = cut;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
