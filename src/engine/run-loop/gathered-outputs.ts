import { assertJsonWithin, Limits } from '../../domain/json-limits.js';
import { MaestroError, toMaestroError } from '../../domain/errors.js';

/** Room in a document for what it holds beside its outputs (ids, status, times, error, a foreach item's key). */
const ROOM_BESIDE_OUTPUTS = 64 * 1024;

/**
 * Outputs gathered from other steps (a group's from its nested steps, a foreach's from its copies, the run's from
 * its `outputs` expressions) are not bounded by the one-step output limit: checked here against what the document
 * that stores them may hold, so a run whose outputs grew too large ends with OUTPUT_TOO_LARGE instead of a write
 * the store refuses at every try (which left it running). Undefined when they fit.
 */
export function gatheredOutputsFault(outputs: unknown, what: string): MaestroError | undefined {
  try {
    assertJsonWithin(
      outputs,
      // The document holds the outputs one level down.
      { maxDepth: Limits.documentDepth - 1, maxBytes: Limits.documentBytes - ROOM_BESIDE_OUTPUTS },
      what,
      'OUTPUT_TOO_LARGE',
    );
    return undefined;
  } catch (error) {
    const fault = toMaestroError(error);
    return new MaestroError(
      'OUTPUT_TOO_LARGE',
      `${fault.message}: write large results to a file and attach it as an artifact`,
      {
        retryable: false,
        details: fault.details,
      },
    );
  }
}
