import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StorageError, type StorageIdentity } from '@raftkit/core';
import type { SqliteConnection, SqliteDriver } from './driver/driver.ts';
import { toStorageError } from './errors.ts';
import { checkFormat } from './format.ts';
import { fsyncDirectory } from './fsync-dir.ts';
import { APPLICATION_ID, CREATE_SCHEMA, SCHEMA_VERSION } from './schema.ts';
import { inTransaction } from './transaction.ts';

/**
 * How hard each commit waits for the disk.
 * - 'full' (default): the WAL is fsynced at every commit; a `save()` that resolved survives power
 *   loss and OS crashes.
 * - 'normal': the WAL is fsynced only at checkpoints. Still safe against a process crash (the OS
 *   has the writes), but after power loss or an OS crash the last commits may roll back, so a node
 *   may forget a vote or entries it acknowledged, which Raft's safety argument does not allow. Use
 *   it only where no two nodes can lose power at once, or where that loss is acceptable (tests).
 */
export type Synchronous = 'full' | 'normal';

/**
 * Opens (creating if needed) the database at `path` for one node, and locks it for this
 * connection's lifetime.
 *
 * The lock: `locking_mode=EXCLUSIVE` makes SQLite keep the file lock it takes instead of releasing
 * it after each transaction, and in WAL mode only a write takes the exclusive one. So every open
 * commits a small write (`open_count`), after which any other connection, in this process or
 * another, fails with SQLITE_BUSY until we close. A side effect: with no shared-memory index in use,
 * SQLite never creates a `-shm` file.
 */
export async function openDatabase(
  driver: SqliteDriver,
  path: string,
  identity: StorageIdentity,
  synchronous: Synchronous,
): Promise<SqliteConnection> {
  const existed = await stat(path).then(
    () => true,
    () => false,
  );
  let conn: SqliteConnection;
  try {
    conn = driver.open(path, { readonly: false });
  } catch (error) {
    throw toStorageError(driver, error, path, 'opening the database');
  }
  try {
    // busy_timeout 0: a locked database is refused at once rather than after a wait (better-sqlite3
    // would otherwise wait 5 s).
    conn.exec('PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE');
    const format = checkFormat(conn, path);
    conn.exec('PRAGMA journal_mode = WAL');
    const mode = conn.prepare('PRAGMA journal_mode').get()?.journal_mode;
    if (mode !== 'wal')
      throw new StorageError('Io', `${path}: could not enter WAL mode (got ${String(mode)})`);
    // fullfsync matters on macOS only, where plain fsync does not flush the drive's cache.
    conn.exec(`PRAGMA synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}; PRAGMA fullfsync = ON`);
    inTransaction(conn, () => {
      if (format === 'empty') createSchema(conn, identity);
      else claim(conn, identity, path);
      // Streams a crash interrupted: never committed, so never in force.
      conn.exec(`
        DELETE FROM snapshot_chunks WHERE snapshot_id IN (SELECT id FROM snapshots WHERE state = 'staging');
        DELETE FROM snapshots WHERE state = 'staging';
      `);
    });
    if (!existed) await fsyncDirectory(dirname(path));
    return conn;
  } catch (error) {
    conn.close();
    throw toStorageError(driver, error, path, 'opening the database');
  }
}

function createSchema(conn: SqliteConnection, identity: StorageIdentity): void {
  conn.exec(CREATE_SCHEMA);
  conn.exec(`PRAGMA application_id = ${APPLICATION_ID}; PRAGMA user_version = ${SCHEMA_VERSION}`);
  conn
    .prepare('INSERT INTO identity (id, cluster_id, node_id, open_count) VALUES (1, ?, ?, 1)')
    .run(identity.clusterId, identity.nodeId);
  conn.exec('INSERT INTO hard_state (id, term, voted_for, commit_index) VALUES (1, 0, NULL, 0)');
}

function claim(conn: SqliteConnection, identity: StorageIdentity, path: string): void {
  const stored = conn.prepare('SELECT cluster_id, node_id FROM identity WHERE id = 1').get();
  if (stored === undefined)
    throw new StorageError('Corrupt', `${path}: the identity row is missing`, { file: path });
  if (stored.cluster_id !== identity.clusterId || stored.node_id !== identity.nodeId) {
    throw new StorageError(
      'IdentityMismatch',
      `${path} belongs to node ${String(stored.node_id)} of cluster ${String(stored.cluster_id)}, ` +
        `not node ${identity.nodeId} of cluster ${identity.clusterId}`,
      { file: path },
    );
  }
  conn.exec('UPDATE identity SET open_count = open_count + 1 WHERE id = 1');
}
