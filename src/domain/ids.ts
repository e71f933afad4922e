import { monotonicFactory } from 'ulid';

// Monotonic within a process so ids made in the same millisecond still sort in creation order.
const nextUlid = monotonicFactory();

/** A new sortable, globally unique id (ULID). */
export function newId(): string {
  return nextUlid();
}

export const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
