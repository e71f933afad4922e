import { ErrorCode } from './error-codes.js';

export interface ErrorDetails {
  /** JSON path of the offending field, e.g. `$.steps[2].needs[0]`. */
  path?: string;
  expected?: string;
  got?: unknown;
  [key: string]: unknown;
}

/** Every error a user can cause is a MaestroError with a stable code; retryability is decided where it is thrown. */
export class MaestroError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: ErrorDetails; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MaestroError';
    this.code = code;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? ErrorCode[code].retryable;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isMaestroError(error: unknown, code?: ErrorCode): error is MaestroError {
  return error instanceof MaestroError && (code === undefined || error.code === code);
}

/** Anything thrown, as a MaestroError: unknown errors become INTERNAL (or the given code) with their message. */
export function toMaestroError(error: unknown, fallback: ErrorCode = 'INTERNAL'): MaestroError {
  if (error instanceof MaestroError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new MaestroError(fallback, message, { cause: error });
}
