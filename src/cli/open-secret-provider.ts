import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MaestroError } from '../domain/errors.js';
import { envSecretProvider, fileSecretProvider, type SecretProvider } from '../engine/secrets/secret-provider.js';

/** The secret provider MAESTRO_SECRETS names: `env`, `file:<path>` or `module:<path>` exporting createSecretProvider(). */
export async function openSecretProvider(source: string): Promise<SecretProvider> {
  if (source === 'env') return envSecretProvider(process.env);
  if (source.startsWith('file:')) return fileSecretProvider(resolve(source.slice('file:'.length)));
  if (source.startsWith('module:')) {
    const modulePath = source.slice('module:'.length);
    const module = (await import(pathToFileURL(resolve(modulePath)).href)) as { createSecretProvider?: unknown };
    if (typeof module.createSecretProvider !== 'function') {
      throw new MaestroError('CONFIG_INVALID', `${modulePath} must export createSecretProvider()`, {
        details: { path: 'MAESTRO_SECRETS' },
      });
    }
    const provider = (await (module.createSecretProvider as () => unknown)()) as Partial<SecretProvider> | undefined;
    if (!provider || typeof provider.resolve !== 'function') {
      throw new MaestroError(
        'CONFIG_INVALID',
        `createSecretProvider() of ${modulePath} must return { resolve(name) }`,
        { details: { path: 'MAESTRO_SECRETS' } },
      );
    }
    return { description: provider.description ?? `module ${modulePath}`, resolve: provider.resolve.bind(provider) };
  }
  throw new MaestroError('CONFIG_INVALID', `MAESTRO_SECRETS must be env, file:<path> or module:<path>`, {
    details: { path: 'MAESTRO_SECRETS', got: source.split(':')[0] },
  });
}
