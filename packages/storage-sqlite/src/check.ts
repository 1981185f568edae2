import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  type HardState,
  type Index,
  isStorageError,
  type NodeId,
  type StorageIdentity,
  type Term,
} from '@raftkit/core';
import { type ConsistencyRule, checkLog, type LogPosition } from './consistency.ts';
import type { SqliteConnection, SqliteDriver } from './driver/driver.ts';
import { sqliteDriver } from './driver/select.ts';
import { toStorageError } from './errors.ts';
import { checkFormat } from './format.ts';
import { bytes, entryFromRow } from './rows.ts';
import { DATABASE_FILE } from './schema.ts';

/**
 * The rules `checkSqliteDataDir` verifies, so tools and tests can tell problems apart without parsing
 * messages.
 */
export type CheckRule =
  | ConsistencyRule
  /** Not a raftkit database, or another schema version: nothing else could be read. */
  | 'format'
  /** `PRAGMA integrity_check` found damaged pages or indexes, or a read failed. */
  | 'integrity'
  /** A row every database has (identity, hard state) is missing. */
  | 'missing-row'
  /** The snapshot's chunks do not add up to its recorded size and SHA-256. */
  | 'snapshot-checksum'
  /** An entry row fails its CRC-32: its payload, index, term or type changed at rest. */
  | 'entry-checksum';

/** One thing wrong with a database: which rule it breaks and a message saying where. */
export interface CheckProblem {
  readonly rule: CheckRule;
  readonly message: string;
}

/**
 * What `checkSqliteDataDir` found: the database's path, driver and size, what it holds, and every problem
 * (an empty list: none found).
 */
export interface SqliteCheckReport {
  readonly path: string;
  readonly driver: string;
  /** The database file plus its WAL, in bytes. */
  readonly sizeBytes: number;
  readonly identity: StorageIdentity | null;
  readonly hardState: HardState | null;
  readonly entries: {
    readonly count: number;
    readonly firstIndex: Index | null;
    readonly lastIndex: Index | null;
    readonly firstTerm: Term | null;
    readonly lastTerm: Term | null;
    readonly payloadBytes: number;
  };
  readonly snapshot: {
    readonly index: Index;
    readonly term: Term;
    readonly size: number;
    readonly chunks: number;
    readonly sha256: string;
  } | null;
  /** Snapshot streams a crash interrupted; harmless, dropped by the next open. */
  readonly stagedSnapshots: number;
  readonly problems: readonly CheckProblem[];
}

const PROBLEM_LIMIT = 50;

/**
 * Verifies a stopped node's database without changing it: the file is opened read-only, so even a
 * WAL left by a crash is read, never checkpointed into the database. Everything is read in one
 * read transaction, whose shared lock keeps the node from starting mid-check; a running node
 * (which holds its exclusive lock) makes this reject with `Locked`.
 *
 * A read-only connection cannot keep the WAL index in process memory the way the node's exclusive
 * one does, so SQLite may leave an empty `-wal` and a `-shm` file beside the database. The node
 * never reads the `-shm` (exclusive mode) and removes the `-wal` when it closes.
 *
 * `dir` is a data directory (holding `raft.sqlite`) or the database file itself.
 */
export async function checkSqliteDataDir(dir: string): Promise<SqliteCheckReport> {
  const driver = await sqliteDriver();
  const path = (await stat(dir).then((s) => s.isDirectory())) ? join(dir, DATABASE_FILE) : dir;
  const sizeBytes = (await fileSize(path)) + (await fileSize(`${path}-wal`).catch(() => 0));
  let conn: SqliteConnection;
  try {
    conn = driver.open(path, { readonly: true });
    conn.exec('PRAGMA busy_timeout = 0');
  } catch (error) {
    throw toStorageError(driver, error, path, 'opening the database to check it');
  }
  try {
    conn.exec('BEGIN');
    return inspect(driver, conn, path, sizeBytes);
  } finally {
    conn.close();
  }
}

const fileSize = async (path: string) => (await stat(path)).size;

function inspect(
  driver: SqliteDriver,
  conn: SqliteConnection,
  path: string,
  sizeBytes: number,
): SqliteCheckReport {
  const problems: CheckProblem[] = [];
  const report = (rule: CheckRule, message: string) => {
    if (problems.length < PROBLEM_LIMIT) problems.push({ rule, message });
  };
  const empty: SqliteCheckReport = {
    path,
    driver: driver.name,
    sizeBytes,
    identity: null,
    hardState: null,
    entries: {
      count: 0,
      firstIndex: null,
      lastIndex: null,
      firstTerm: null,
      lastTerm: null,
      payloadBytes: 0,
    },
    snapshot: null,
    stagedSnapshots: 0,
    problems,
  };
  try {
    if (checkFormat(conn, path) === 'empty') {
      report('format', 'the database has no schema (created, but never written)');
      return empty;
    }
  } catch (error) {
    const failure = toStorageError(driver, error, path, 'reading the header');
    if (failure.kind === 'Locked') throw failure;
    report('format', failure.message);
    return empty;
  }
  try {
    for (const row of conn.prepare('PRAGMA integrity_check').all()) {
      if (row.integrity_check !== 'ok') report('integrity', String(row.integrity_check));
    }
    const identity = readIdentity(conn);
    if (identity === null) report('missing-row', 'the identity row is missing');
    const hardState = readHardState(conn);
    if (hardState === null) report('missing-row', 'the hard state row is missing');
    const snapshot = checkSnapshot(conn, path, report);
    const entries = { ...empty.entries };
    const log = checkLog(
      snapshot,
      hardState?.commitIndex ?? (0 as Index),
      tally(conn, path, report, (position, payload) => {
        entries.count++;
        entries.firstIndex ??= position.index;
        entries.firstTerm ??= position.term;
        entries.lastIndex = position.index;
        entries.lastTerm = position.term;
        entries.payloadBytes += payload;
      }),
      PROBLEM_LIMIT,
    );
    for (const problem of log.problems) report(problem.rule, problem.message);
    const staged = conn.prepare("SELECT count(*) AS n FROM snapshots WHERE state = 'staging'").get();
    return { ...empty, identity, hardState, entries, snapshot, stagedSnapshots: Number(staged?.n ?? 0) };
  } catch (error) {
    report('integrity', toStorageError(driver, error, path, 'reading').message);
    return empty;
  }
}

/** The log in index order, each row checked against its checksum on the way. */
function* tally(
  conn: SqliteConnection,
  path: string,
  report: (rule: CheckRule, message: string) => void,
  see: (position: LogPosition, payload: number) => void,
): Iterable<LogPosition> {
  for (const row of conn.prepare('SELECT idx, term, type, data, crc FROM entries ORDER BY idx').iterate()) {
    const position = { index: Number(row.idx) as Index, term: Number(row.term) as Term };
    try {
      entryFromRow(row, path);
    } catch (error) {
      if (!isStorageError(error, 'Corrupt')) throw error;
      report('entry-checksum', `entry ${position.index} fails its checksum`);
    }
    see(position, row.data instanceof Uint8Array ? row.data.byteLength : 0);
    yield position;
  }
}

function readIdentity(conn: SqliteConnection): StorageIdentity | null {
  const row = conn.prepare('SELECT cluster_id, node_id FROM identity WHERE id = 1').get();
  return row === undefined
    ? null
    : { clusterId: String(row.cluster_id), nodeId: String(row.node_id) as NodeId };
}

function readHardState(conn: SqliteConnection): HardState | null {
  const row = conn.prepare('SELECT term, voted_for, commit_index FROM hard_state WHERE id = 1').get();
  if (row === undefined) return null;
  return {
    term: Number(row.term) as Term,
    votedFor: row.voted_for === null ? null : (String(row.voted_for) as NodeId),
    commitIndex: Number(row.commit_index) as Index,
  };
}

/** Rehashes the current snapshot's chunks, one row in memory at a time. */
function checkSnapshot(
  conn: SqliteConnection,
  path: string,
  report: (rule: CheckRule, message: string) => void,
): SqliteCheckReport['snapshot'] {
  const row = conn.prepare("SELECT id, idx, term, size, sha256 FROM snapshots WHERE state = 'current'").get();
  if (row === undefined) return null;
  const hash = sha256.create();
  let size = 0;
  let chunks = 0;
  for (const chunk of conn
    .prepare('SELECT seq, data FROM snapshot_chunks WHERE snapshot_id = ? ORDER BY seq')
    .iterate(row.id ?? null)) {
    if (chunk.seq !== chunks)
      report('snapshot-checksum', `snapshot chunk ${chunks} is missing (found ${String(chunk.seq)})`);
    const data = bytes(chunk.data, path);
    hash.update(data);
    size += data.byteLength;
    chunks++;
  }
  const recorded = bytes(row.sha256, path);
  const actual = hash.digest();
  if (size !== Number(row.size)) {
    report('snapshot-checksum', `the snapshot holds ${size} bytes, ${String(row.size)} recorded`);
  } else if (bytesToHex(actual) !== bytesToHex(recorded)) {
    report(
      'snapshot-checksum',
      `the snapshot's SHA-256 is ${bytesToHex(actual)}, ${bytesToHex(recorded)} recorded`,
    );
  }
  return {
    index: Number(row.idx) as Index,
    term: Number(row.term) as Term,
    size,
    chunks,
    sha256: bytesToHex(recorded),
  };
}

/** A human-readable report, one fact per line, problems last. */
export function renderSqliteCheck(report: SqliteCheckReport): string {
  const { entries, snapshot, hardState, identity } = report;
  const lines = [
    `database   ${report.path} (${report.sizeBytes} bytes, read with ${report.driver})`,
    `identity   ${identity === null ? '-' : `node ${identity.nodeId} of cluster ${identity.clusterId}`}`,
    `hard state ${
      hardState === null
        ? '-'
        : `term ${hardState.term}, voted for ${hardState.votedFor ?? '-'}, commit index ${hardState.commitIndex}`
    }`,
    `entries    ${
      entries.count === 0
        ? 'none'
        : `${entries.count} (${entries.firstIndex}..${entries.lastIndex}, terms ${entries.firstTerm}..${entries.lastTerm}, ${entries.payloadBytes} payload bytes)`
    }`,
    `snapshot   ${
      snapshot === null
        ? 'none'
        : `index ${snapshot.index}, term ${snapshot.term}, ${snapshot.size} bytes in ${snapshot.chunks} chunks, sha256 ${snapshot.sha256}`
    }`,
  ];
  if (report.stagedSnapshots > 0)
    lines.push(`staged     ${report.stagedSnapshots} interrupted snapshot stream(s)`);
  lines.push(
    report.problems.length === 0 ? 'result     ok' : `result     ${report.problems.length} problem(s)`,
  );
  for (const problem of report.problems) lines.push(`  [${problem.rule}] ${problem.message}`);
  return `${lines.join('\n')}\n`;
}
