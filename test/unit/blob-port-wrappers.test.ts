import { describe, expect, it } from 'vitest';
import { isMaestroError, MaestroError } from '../../src/domain/errors.js';
import { noTelemetry } from '../../src/domain/telemetry.js';
import { openStore } from '../../src/store/open.js';

describe('the blob port behind the store wrappers', () => {
  it('is passed through untouched by the outage-retry and timing wrappers: a failed put is never replayed', async () => {
    const store = await openStore('memory://', { outage: { limitMs: 5_000 }, telemetry: noTelemetry });
    try {
      let iterations = 0;
      const source = {
        async *[Symbol.asyncIterator]() {
          iterations += 1;
          yield new TextEncoder().encode('first piece');
          throw new MaestroError('STORE_UNAVAILABLE', 'the source went away mid-stream');
        },
      };
      const failed = await store.blobs.putBlob(source, { name: 'once', maxBytes: 1024 }).catch((e: unknown) => e);
      // An outage error (which the wrappers retry for every operation) reaches the caller at once: the stream is spent.
      expect(isMaestroError(failed, 'STORE_UNAVAILABLE')).toBe(true);
      expect(iterations).toBe(1);
    } finally {
      await store.close();
    }
  });
});
