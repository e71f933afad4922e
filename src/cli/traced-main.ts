import { startTracing } from '../observability/tracing.js';

/**
 * Runs a CLI entry point with tracing registered when the OTEL_* variables ask for it, and flushes the spans
 * before the exit code is returned (a batch still buffered at exit would be lost).
 */
export async function withTracing(main: () => Promise<number>): Promise<number> {
  const tracing = startTracing(process.env);
  try {
    return await main();
  } finally {
    await tracing?.shutdown().catch(() => undefined);
  }
}
