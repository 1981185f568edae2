import { StorageError } from '@raftkit/core';
import type { SqliteConnection } from './driver/driver.ts';
import { APPLICATION_ID, SCHEMA_VERSION } from './schema.ts';

/**
 * Tells a database we can use from one we must refuse, before touching anything in it. Reading
 * the header is also the first access, so a file that is not SQLite fails here (`SQLITE_NOTADB`)
 * and one locked by another process fails here (`SQLITE_BUSY`).
 *
 * Returns 'empty' for a file with no schema yet (new, or created by a crash before the first
 * transaction committed), 'ours' for a database of this version.
 */
export function checkFormat(conn: SqliteConnection, file: string): 'empty' | 'ours' {
  const applicationId = Number(conn.prepare('PRAGMA application_id').get()?.application_id ?? 0);
  const userVersion = Number(conn.prepare('PRAGMA user_version').get()?.user_version ?? 0);
  const objects = Number(conn.prepare('SELECT count(*) AS n FROM sqlite_schema').get()?.n ?? 0);
  if (applicationId === 0 && userVersion === 0 && objects === 0) return 'empty';
  if (applicationId !== APPLICATION_ID) {
    throw new StorageError('Corrupt', `${file} is an SQLite database, but not a raftkit one`, { file });
  }
  if (userVersion !== SCHEMA_VERSION) {
    throw new StorageError(
      'UnsupportedVersion',
      `${file} has schema version ${userVersion}; this build reads version ${SCHEMA_VERSION}`,
      { file },
    );
  }
  return 'ours';
}
