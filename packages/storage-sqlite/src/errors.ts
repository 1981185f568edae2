import { StorageError } from '@raftkit/core';
import type { SqliteDriver } from './driver/driver.ts';

/**
 * The one place SQLite result codes become storage error kinds. SQLite cannot say where in the
 * file a bad page sits, so `Corrupt` names the file and leaves `offset` unset.
 */
export function toStorageError(
  driver: SqliteDriver,
  error: unknown,
  file: string,
  doing: string,
): StorageError {
  if (error instanceof StorageError) return error;
  const options = { file, cause: error };
  switch (driver.errorCode(error)) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StorageError(
        'Locked',
        `${doing}: ${file} is held by another process or connection`,
        options,
      );
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new StorageError('Corrupt', `${doing}: ${file} is not a valid SQLite database`, options);
    default:
      return new StorageError(
        'Io',
        `${doing}: ${file}: ${(error as Error)?.message ?? String(error)}`,
        options,
      );
  }
}
