import type { SqliteConnection } from './driver/driver.ts';

/**
 * Runs `body` in one write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so a
 * conflict fails before any work rather than at COMMIT.
 */
export function inTransaction<T>(conn: SqliteConnection, body: () => T): T {
  conn.exec('BEGIN IMMEDIATE');
  try {
    const result = body();
    conn.exec('COMMIT');
    return result;
  } catch (error) {
    // SQLite may already have rolled back (e.g. after an IO error in COMMIT); then ROLLBACK itself
    // fails with "no transaction is active", which says nothing new. The original error is what
    // the caller must see, and a failed write closes the store anyway.
    try {
      conn.exec('ROLLBACK');
    } catch {}
    throw error;
  }
}
