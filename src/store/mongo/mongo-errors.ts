import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError,
  MongoNetworkTimeoutError,
} from 'mongodb';
import { MaestroError } from '../../domain/errors.js';

const DUPLICATE_KEY = 11000;

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

/** True when every write error of a bulk insert is a duplicate key (the ones we mean to skip). */
export function isOnlyDuplicateKeys(error: unknown): boolean {
  if (!(error instanceof MongoBulkWriteError)) return false;
  const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  return (
    writeErrors.length > 0 && writeErrors.every((writeError: { code?: unknown }) => writeError.code === DUPLICATE_KEY)
  );
}

/** Driver errors stop at the adapter's edge: the engine sees CONFLICT or STORE_UNAVAILABLE, never a driver class. */
export function translateMongoError(error: unknown): unknown {
  if (isDuplicateKey(error) || isOnlyDuplicateKeys(error))
    return new MaestroError('CONFLICT', `duplicate key: ${(error as Error).message}`, { cause: error });
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkTimeoutError
  ) {
    return new MaestroError('STORE_UNAVAILABLE', `MongoDB is unreachable: ${error.message}`, {
      cause: error,
      retryable: true,
    });
  }
  return error;
}
