/**
 * The on-disk format. `PRAGMA application_id` marks the file as ours (so a foreign SQLite database
 * is refused, not adopted); `PRAGMA user_version` is the schema version, bumped on any change.
 */

/** 'RAFT' in ASCII: lets `file(1)`-style tools and our open tell our databases from others. */
export const APPLICATION_ID = 0x52414654;
export const SCHEMA_VERSION = 1;
/** Snapshot data is stored in rows of this size, so no row, and no read of one, is large. */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;

export const DATABASE_FILE = 'raft.sqlite';

export const CREATE_SCHEMA = `
  -- Written once at creation; a later open with another identity is refused. open_count is
  -- bumped by every open: that write is what takes the exclusive lock (see open.ts).
  CREATE TABLE identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cluster_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    open_count INTEGER NOT NULL
  );
  -- Raft Figure 2's persistent state, plus the commit index (a lower bound, persisted lazily).
  CREATE TABLE hard_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    term INTEGER NOT NULL,
    voted_for TEXT,
    commit_index INTEGER NOT NULL
  );
  -- The log after the snapshot. idx is the rowid, so range reads walk the table's own b-tree.
  -- crc: CRC-32 of the row (checksum.ts), checked on every read; SQLite does not checksum pages.
  CREATE TABLE entries (
    idx INTEGER PRIMARY KEY,
    term INTEGER NOT NULL,
    type INTEGER NOT NULL CHECK (type IN (0, 1)),
    data BLOB NOT NULL,
    crc INTEGER NOT NULL
  );
  -- At most one 'current' snapshot; 'staging' rows are streams not yet committed (dropped on open).
  CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('staging', 'current')),
    idx INTEGER NOT NULL,
    term INTEGER NOT NULL,
    membership TEXT NOT NULL,
    size INTEGER,
    sha256 BLOB
  );
  CREATE UNIQUE INDEX one_current_snapshot ON snapshots (state) WHERE state = 'current';
  CREATE TABLE snapshot_chunks (
    snapshot_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (snapshot_id, seq)
  );
`;

/** Entry types as stored: a small integer rather than a string in every row. */
export const ENTRY_TYPE_CODES = { normal: 0, config: 1 } as const;
