import Database from 'better-sqlite3';
import { MaestroError } from '../../domain/errors.js';

/**
 * SQLite's errors stop at the adapter's edge, as MongoDB's do: a unique index is CONFLICT, a lock held past the busy
 * timeout is STORE_UNAVAILABLE (retried), a file that is not a readable database is STORE_CORRUPT naming it.
 */
export function translateSqliteError(error: unknown, where: string, busyTimeoutMs: number): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  const code = error.code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
    return new MaestroError('CONFLICT', `duplicate key: ${error.message}`, { cause: error });
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
    return new MaestroError('STORE_CORRUPT', `the SQLite store ${where} cannot be read: ${error.message}`, {
      cause: error,
      details: { file: where, sqlite_code: code },
    });
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return new MaestroError(
      'STORE_UNAVAILABLE',
      `the SQLite store ${where} stayed locked by another writer for over ${busyTimeoutMs} ms`,
      { cause: error, details: { file: where, sqlite_code: code } },
    );
  if (/^SQLITE_(CANTOPEN|READONLY|IOERR|FULL|PERM)/.test(code))
    return new MaestroError('STORE_UNAVAILABLE', `the SQLite store ${where} cannot be written: ${error.message}`, {
      cause: error,
      details: { file: where, sqlite_code: code },
    });
  return error;
}
