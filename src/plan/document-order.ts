import { pointerToJsonPath } from '../schema/format-errors.js';

/** A JSON path's last segment: `.key`, `[3]` or `["quoted key"]`. */
const LAST_SEGMENT = /(\.[A-Za-z_$][A-Za-z0-9_$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])$/;

/**
 * The position of every node of a parsed JSON document, by JSON path, in the order a reader meets them in the
 * file (JSON.parse keeps the file's key order, but for keys that are array indices, which come first).
 */
export function documentPositions(document: unknown): Map<string, number> {
  const positions = new Map<string, number>();
  // Iterative: the depth guard has bounded the document, but no recursion is needed to walk it.
  const stack: Array<{ value: unknown; pointer: string }> = [{ value: document, pointer: '' }];
  while (stack.length > 0) {
    const { value, pointer } = stack.pop()!;
    positions.set(pointerToJsonPath(pointer), positions.size);
    if (value === null || typeof value !== 'object') continue;
    const entries: Array<[string, unknown]> = Array.isArray(value)
      ? (value as unknown[]).map((item, index) => [String(index), item])
      : Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const [key, child] = entries[i]!;
      stack.push({ value: child, pointer: `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` });
    }
  }
  return positions;
}

/**
 * Where a fault's JSON path sits in the document: its node's position, or for a field that is missing, that of
 * the nearest enclosing node that exists.
 */
export function positionOf(path: string, positions: ReadonlyMap<string, number>): number {
  for (let cursor = path; ;) {
    const position = positions.get(cursor);
    if (position !== undefined) return position;
    const shorter = cursor.replace(LAST_SEGMENT, '');
    if (shorter === cursor) return 0;
    cursor = shorter;
  }
}

/** Faults sorted by where their JSON paths sit in the document (a stable sort: ties keep their order). */
export function inDocumentOrder<T extends { path: string }>(faults: readonly T[], document: unknown): T[] {
  const positions = documentPositions(document);
  return faults
    .map((fault, index) => ({ fault, index, position: positionOf(fault.path, positions) }))
    .sort((a, b) => a.position - b.position || a.index - b.index)
    .map(({ fault }) => fault);
}
