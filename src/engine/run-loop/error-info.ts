import type { ErrorInfo } from '../../generated/schemas.js';
import type { MaestroError } from '../../domain/errors.js';

/** `STEP_TIMEOUT` -> `step_timeout`: the form of codes in `error_info` documents. */
export function errorInfoOf(error: MaestroError, attempt?: number): ErrorInfo {
  return {
    message: error.message,
    code: error.code.toLowerCase(),
    ...(attempt === undefined ? {} : { attempt }),
    ...(Object.keys(error.details).length > 0
      ? { details: JSON.parse(JSON.stringify(error.details)) as Record<string, unknown> }
      : {}),
  };
}
