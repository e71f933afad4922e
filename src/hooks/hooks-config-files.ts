import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The files a hooks config names, which no step may see: the config itself (it may hold an OpenLineage
 * `api_key`), every `key_file` (read from the current directory, as the attestation hook reads it) and hook
 * modules. A config that cannot be read names only itself: applying it reports why.
 */
export function hooksConfigFiles(path: string): string[] {
  const files = [resolve(path)];
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return files;
  }
  const hooks = (config as { hooks?: unknown } | null)?.hooks;
  if (!hooks || typeof hooks !== 'object') return files;
  for (const entry of Object.values(hooks as Record<string, unknown>)) {
    if (!entry || typeof entry !== 'object') continue;
    const { key_file: keyFile, module, options } = entry as Record<string, unknown>;
    const optionKeyFile = (options as Record<string, unknown> | null | undefined)?.key_file;
    for (const file of [keyFile, optionKeyFile]) if (typeof file === 'string') files.push(resolve(file));
    if (typeof module === 'string') files.push(resolve(dirname(path), module));
  }
  return files;
}
