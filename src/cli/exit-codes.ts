import type { ErrorCode } from '../domain/error-codes.js';
import { toMaestroError } from '../domain/errors.js';

export const ExitCode = {
  succeeded: 0,
  failed: 1,
  invalidInput: 2,
  interrupted: 130,
} as const;

// Errors a user fixes by changing what they typed or wrote: exit 2. Everything else: exit 1.
const invalidInputCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'PLAN_INVALID',
  'INPUT_INVALID',
  'EXPRESSION_INVALID',
  'DOCUMENT_INVALID',
  'CURSOR_INVALID',
  'STORE_URL_INVALID',
  'CONFIG_INVALID',
  'PATH_FORBIDDEN',
  'LIMIT_EXCEEDED',
  'OUTPUT_TOO_LARGE',
  'KIND_FORBIDDEN',
  'RUN_NOT_FOUND',
  'PLAN_NOT_FOUND',
  'STEP_NOT_FOUND',
  'SCHEDULE_NOT_FOUND',
  'STEP_ILLEGAL_TRANSITION',
  'RUN_ILLEGAL_TRANSITION',
  'IDEMPOTENCY_CONFLICT',
]);

/** The one mapping from errors to exit codes. */
export function exitCodeOf(error: unknown): number {
  return invalidInputCodes.has(toMaestroError(error).code) ? ExitCode.invalidInput : ExitCode.failed;
}

export function exitCodeOfRunStatus(status: string): number {
  return status === 'succeeded' ? ExitCode.succeeded : ExitCode.failed;
}
