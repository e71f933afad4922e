import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** sha256 and size of a file, read as a stream so large artifacts never sit in memory. */
export async function digestFile(path: string): Promise<{ sha256: string; size_bytes: number }> {
  const info = await stat(path);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), size_bytes: info.size };
}
