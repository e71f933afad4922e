import { createHash, randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const RANDOM_POOL_BYTES = 4096;
const randomPool = new Uint8Array(RANDOM_POOL_BYTES);
let poolOffset = RANDOM_POOL_BYTES;

/**
 * The same cryptographic bytes ulid's default source takes, drawn from the OS 4 KiB at a time: the default asks
 * for one byte per character, and dropping that system call per character made a no-op step about 6% cheaper.
 */
function pooledRandom(): number {
  if (poolOffset === RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    poolOffset = 0;
  }
  return randomPool[poolOffset++]! / 256;
}

// Monotonic within a process so ids made in the same millisecond still sort in creation order.
const nextUlid = monotonicFactory(pooledRandom);

/** A new sortable, globally unique id (ULID). */
export function newId(): string {
  return nextUlid();
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * An id of the same form computed from `parts`: every process asking gets the same one. For a write that several
 * runners may make (a run's end event), so that the store's id check keeps only the first.
 */
export function derivedId(...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('/')).digest();
  // A ULID's first character is at most 7 (the top of its 48-bit time); each other one holds 5 bits.
  return Array.from({ length: 26 }, (_, i) => CROCKFORD[digest[i]! % (i === 0 ? 8 : 32)]).join('');
}

export const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
