/**
 * Aho–Corasick over bytes: finds every pattern in one pass, in time linear in the text (plus the patterns, once).
 * A state is a node of the patterns' trie: the longest suffix of what was read that begins some pattern. The trie
 * is kept in flat arrays and one map of edges (no object per node): a run with many secrets and forms stays small.
 */
export class ByteAutomaton {
  /** `node * 256 + byte` -> the child node. */
  private readonly edges = new Map<number, number>();
  private readonly firstChild: number[] = [-1];
  private readonly nextSibling: number[] = [-1];
  private readonly byteOf: number[] = [0];
  private readonly fail: number[] = [0];
  private readonly depths: number[] = [0];
  /** The longest pattern that ends at this state (0 for none): the others ending there are inside it. */
  private readonly matched: number[] = [0];
  /** The root's moves as a table (0: stay): most bytes of a text begin no pattern, and this is the hot path. */
  readonly fromRoot = new Int32Array(256);

  constructor(patterns: readonly Uint8Array[]) {
    for (const pattern of patterns) {
      let node = 0;
      for (const byte of pattern) node = this.edges.get(node * 256 + byte) ?? this.addChild(node, byte);
      if (pattern.length > 0) this.matched[node] = pattern.length;
    }
    const queue: number[] = [];
    for (let child = this.firstChild[0]!; child !== -1; child = this.nextSibling[child]!) {
      this.fromRoot[this.byteOf[child]!] = child;
      queue.push(child);
    }
    // Breadth first, so a node's failure link (a shallower node) is complete before the node's own.
    for (let at = 0; at < queue.length; at += 1) {
      const node = queue[at]!;
      if (this.matched[node] === 0) this.matched[node] = this.matched[this.fail[node]!]!;
      for (let child = this.firstChild[node]!; child !== -1; child = this.nextSibling[child]!) {
        this.fail[child] = this.step(this.fail[node]!, this.byteOf[child]!);
        queue.push(child);
      }
    }
  }

  /** The state after reading one more byte. */
  step(state: number, byte: number): number {
    for (let node = state; node !== 0; node = this.fail[node]!) {
      const next = this.edges.get(node * 256 + byte);
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

  private addChild(node: number, byte: number): number {
    const child = this.depths.length;
    this.edges.set(node * 256 + byte, child);
    this.firstChild.push(-1);
    this.nextSibling.push(this.firstChild[node]!);
    this.firstChild[node] = child;
    this.byteOf.push(byte);
    this.fail.push(0);
    this.depths.push(this.depths[node]! + 1);
    this.matched.push(0);
    return child;
  }
}
