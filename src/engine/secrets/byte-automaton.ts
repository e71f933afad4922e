/**
 * Aho–Corasick over bytes: finds every pattern in one pass, in time linear in the text (plus the patterns, once).
 * A state is a node of the patterns' trie: the longest suffix of what was read that begins some pattern.
 */
export class ByteAutomaton {
  private readonly children: Array<Map<number, number>> = [new Map<number, number>()];
  private readonly fail: number[] = [0];
  private readonly depths: number[] = [0];
  /** The longest pattern that ends at this state (0 for none): the others ending there are inside it. */
  private readonly matched: number[] = [0];
  /** The root's moves as a table (0: stay): most bytes of a text begin no pattern, and this is the hot path. */
  readonly fromRoot = new Int32Array(256);

  constructor(patterns: readonly Uint8Array[]) {
    for (const pattern of patterns) {
      let node = 0;
      for (const byte of pattern) {
        let next = this.children[node]!.get(byte);
        if (next === undefined) {
          next = this.children.length;
          this.children.push(new Map<number, number>());
          this.fail.push(0);
          this.depths.push(this.depths[node]! + 1);
          this.matched.push(0);
          this.children[node]!.set(byte, next);
        }
        node = next;
      }
      if (pattern.length > 0) this.matched[node] = pattern.length;
    }
    for (const [byte, child] of this.children[0]!) this.fromRoot[byte] = child;
    // Breadth first, so a node's failure link (a shallower node) is complete before the node's own.
    const queue = [...this.children[0]!.values()];
    for (let at = 0; at < queue.length; at += 1) {
      const node = queue[at]!;
      if (this.matched[node] === 0) this.matched[node] = this.matched[this.fail[node]!]!;
      for (const [byte, child] of this.children[node]!) {
        this.fail[child] = this.step(this.fail[node]!, byte);
        queue.push(child);
      }
    }
  }

  /** The state after reading one more byte. */
  step(state: number, byte: number): number {
    for (let node = state; node !== 0; node = this.fail[node]!) {
      const next = this.children[node]!.get(byte);
      if (next !== undefined) return next;
    }
    return this.fromRoot[byte]!;
  }

  /** How many of the last bytes read may still begin a pattern (a match can start no earlier). */
  depth(state: number): number {
    return this.depths[state]!;
  }

  /** The length of the longest pattern ending at the last byte read, 0 for none. */
  matchLength(state: number): number {
    return this.matched[state]!;
  }
}
