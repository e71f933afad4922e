import { MaestroError } from '../domain/errors.js';

/** Position after the last item of a page: runs sort by created_at desc, then id desc. */
export interface CursorPosition {
  created_at: string;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.created_at, position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(decoded) &&
      decoded.length === 2 &&
      typeof decoded[0] === 'string' &&
      typeof decoded[1] === 'string' &&
      !Number.isNaN(Date.parse(decoded[0]))
    ) {
      return { created_at: decoded[0], id: decoded[1] };
    }
  } catch {
    // fall through to the typed error
  }
  throw new MaestroError('CURSOR_INVALID', 'cursor is not one this server issued', {
    details: { path: '$.cursor', expected: 'a next_cursor value from a previous page' },
  });
}

/** The page's items and next cursor, given one item more than the limit was fetched. */
export function toPage<T>(
  fetched: T[],
  limit: number,
  positionOf: (item: T) => CursorPosition,
): { items: T[]; next_cursor?: string } {
  if (fetched.length <= limit) return { items: fetched };
  const items = fetched.slice(0, limit);
  return { items, next_cursor: encodeCursor(positionOf(items[items.length - 1] as T)) };
}
