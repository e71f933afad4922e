import { createHash } from 'node:crypto';

/**
 * OpenLineage run ids are UUIDs; Maestro's are ULIDs. A UUID (version 8: custom, RFC 9562) derived from the
 * ULID by hashing keeps it stable across redeliveries and processes.
 */
export function lineageRunId(id: string): string {
  const bytes = createHash('sha256').update(`maestro:${id}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
