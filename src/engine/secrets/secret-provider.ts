import { readFileSync } from 'node:fs';
import { MaestroError } from '../../domain/errors.js';

/**
 * Where secret values come from, looked up by name at attempt time on the runner. A provider for a vault is any
 * object with this shape (a module exporting `createSecretProvider()`, loaded with `--secrets module:<path>`).
 */
export interface SecretProvider {
  /** A human name for messages, e.g. `environment (MAESTRO_SECRET_*)`. */
  readonly description: string;
  resolve(name: string): Promise<string | undefined> | string | undefined;
}

export const SECRET_ENV_PREFIX = 'MAESTRO_SECRET_';

/** The default: `MAESTRO_SECRET_<NAME>` variables of the runner's environment, read when a step needs them. */
export function envSecretProvider(env: NodeJS.ProcessEnv, prefix = SECRET_ENV_PREFIX): SecretProvider {
  return {
    description: `environment (${prefix}*)`,
    resolve: (name) => env[`${prefix}${name}`],
  };
}

function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    Object.defineProperty(values, match[1]!, { value, enumerable: true, configurable: true, writable: true });
  }
  return values;
}

/** A JSON object file (`{"NAME": "value"}`) or a dotenv file (`NAME=value` lines), read once when opened. */
export function fileSecretProvider(path: string): SecretProvider {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new MaestroError(
      'CONFIG_INVALID',
      `secrets file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { details: { path: 'secrets' } },
    );
  }
  let values: Record<string, unknown>;
  if (text.trimStart().startsWith('{')) {
    try {
      values = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Never echo the file: it holds secrets.
      throw new MaestroError('CONFIG_INVALID', `secrets file ${path} is not valid JSON`, {
        details: { path: 'secrets' },
      });
    }
  } else {
    values = parseDotenv(text);
  }
  return {
    description: `file ${path}`,
    resolve: (name) => {
      const value = Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined;
      return typeof value === 'string' ? value : undefined;
    },
  };
}
