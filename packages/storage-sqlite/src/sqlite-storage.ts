import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  type Entry,
  type HardState,
  type Index,
  type NodeId,
  type PersistedState,
  type Snapshot,
  type SnapshotMeta,
  type SnapshotWriter,
  type Storage,
  StorageError,
  type StorageIdentity,
  type StorageWrite,
  type Term,
} from '@raftkit/core';
import { entryChecksum } from './checksum.ts';
import { checkLog, type LogPosition } from './consistency.ts';
import type { SqliteConnection, SqliteDriver, SqliteStatement } from './driver/driver.ts';
import { sqliteDriver } from './driver/select.ts';
import { toStorageError } from './errors.ts';
import { fsyncDirectory } from './fsync-dir.ts';
import { openDatabase, type Synchronous } from './open.ts';
import { bytes, decodeMembership, encodeMembership, entryFromRow, entryTypeCode } from './rows.ts';
import { DATABASE_FILE } from './schema.ts';
import { StagedSnapshotWriter } from './snapshot-writer.ts';
import { inTransaction } from './transaction.ts';

/** How `openSqliteStorage` opens a database: at `path`, or as the standard file name in `dir`. */
export type SqliteStorageOptions = ({ readonly path: string } | { readonly dir: string }) & {
  readonly identity: StorageIdentity;
  /** Defaults to 'full'; see {@link Synchronous} for what 'normal' gives up. */
  readonly synchronous?: Synchronous;
};

/**
 * Opens the node's database (`path`, or `dir/raft.sqlite`; a missing `dir` is created), checks its
 * format, identity and log, and locks it until `close()`.
 */
export async function openSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  const driver = await sqliteDriver();
  let path: string;
  if ('dir' in options) {
    await createDirectory(options.dir);
    path = join(options.dir, DATABASE_FILE);
  } else {
    path = options.path;
  }
  const conn = await openDatabase(driver, path, options.identity, options.synchronous ?? 'full');
  try {
    return new SqliteStorage(driver, conn, path, options.identity);
  } catch (error) {
    conn.close();
    throw toStorageError(driver, error, path, 'checking the log');
  }
}

/** mkdir -p, then makes each new directory entry durable. */
async function createDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let created = dir; ; created = dirname(created)) {
    await fsyncDirectory(dirname(created));
    if (created === first) return;
  }
}

interface CurrentSnapshot {
  readonly id: number;
  readonly meta: SnapshotMeta;
  readonly size: number;
  readonly sha256: Uint8Array;
}

class SqliteStorage implements Storage {
  readonly identity: StorageIdentity;
  readonly #driver: SqliteDriver;
  readonly #conn: SqliteConnection;
  readonly #path: string;
  readonly #sql: ReturnType<typeof prepareStatements>;
  #snapshot: CurrentSnapshot | null;
  #hardState: HardState;
  #lastIndex: Index;
  /** Why the store stopped: set by `close()` or by a failed write, and rethrown by every later call. */
  #closed: StorageError | null = null;

  /** Reads the state and runs the consistency rules; throws `Corrupt` on the first broken one. */
  constructor(driver: SqliteDriver, conn: SqliteConnection, path: string, identity: StorageIdentity) {
    this.#driver = driver;
    this.#conn = conn;
    this.#path = path;
    this.identity = identity;
    this.#sql = prepareStatements(conn);
    this.#hardState = this.#readHardState();
    this.#snapshot = this.#readCurrentSnapshot();
    const { problems, lastIndex } = checkLog(
      this.#snapshot?.meta ?? null,
      this.#hardState.commitIndex,
      positions(this.#sql.allPositions),
      1,
    );
    const [problem] = problems;
    if (problem !== undefined) {
      throw new StorageError('Corrupt', `${path}: ${problem.message} (${problem.rule})`, { file: path });
    }
    this.#lastIndex = lastIndex;
  }

  async load(): Promise<PersistedState> {
    this.#mustBeOpen();
    const entries = this.#read('reading the log', () =>
      this.#sql.allEntries.all().map((row) => entryFromRow(row, this.#path)),
    );
    return { hardState: this.#hardState, snapshot: await this.loadSnapshot(), entries };
  }

  async save(write: StorageWrite): Promise<void> {
    this.#mustBeOpen();
    const entries = this.#validEntries(write.entries ?? []);
    const lastIndex = entries.length > 0 ? entries[entries.length - 1]!.index : this.#lastIndex;
    const hardState = write.hardState ?? this.#hardState;
    if (hardState.commitIndex > lastIndex) {
      throw invalid(`commit index ${hardState.commitIndex} would be past the last index ${lastIndex}`);
    }
    this.#write('saving', () => {
      const first = entries[0];
      if (first !== undefined) {
        this.#sql.truncateFrom.run(first.index);
        for (const entry of entries) {
          this.#sql.insertEntry.run(
            entry.index,
            entry.term,
            entryTypeCode(entry),
            entry.data,
            entryChecksum(entry),
          );
        }
      }
      if (write.hardState !== undefined) {
        this.#sql.updateHardState.run(hardState.term, hardState.votedFor, hardState.commitIndex);
      }
    });
    this.#lastIndex = lastIndex;
    this.#hardState = hardState;
  }

  /** The entries to store: those above the snapshot, once they pass the contract's checks. */
  #validEntries(all: readonly Entry[]): readonly Entry[] {
    for (let k = 1; k < all.length; k++) {
      const entry = all[k]!;
      const previous = all[k - 1]!;
      if (entry.index !== previous.index + 1) {
        throw invalid(`entries are not contiguous: ${entry.index} follows ${previous.index}`);
      }
      if (entry.term < previous.term) {
        throw invalid(`entry ${entry.index} has term ${entry.term} after term ${previous.term}`);
      }
    }
    const snapshotIndex = this.#snapshot?.meta.index ?? 0;
    const entries =
      all[0] !== undefined && all[0].index <= snapshotIndex
        ? all.filter((e) => e.index > snapshotIndex)
        : all;
    const first = entries[0];
    if (first === undefined) return entries;
    if (first.index > this.#lastIndex + 1) {
      throw invalid(`entry ${first.index} would leave a gap after the last index ${this.#lastIndex}`);
    }
    if (first.index <= this.#hardState.commitIndex) {
      throw invalid(
        `entry ${first.index} would replace a committed entry (commit index ${this.#hardState.commitIndex})`,
      );
    }
    const previousTerm = this.#termAt(first.index - 1);
    if (first.term < previousTerm) {
      throw invalid(`entry ${first.index} has term ${first.term} below the term ${previousTerm} before it`);
    }
    return entries;
  }

  async entries(low: Index, high: Index, maxBytes = Number.POSITIVE_INFINITY): Promise<Entry[]> {
    this.#mustBeOpen();
    if (low < this.firstIndex()) throw this.#compacted(low);
    if (high > this.#lastIndex + 1) throw this.#unavailable(high - 1);
    if (low >= high) return [];
    return this.#read('reading entries', () => {
      const result: Entry[] = [];
      let total = 0;
      for (const row of this.#sql.entryRange.iterate(low, high)) {
        const entry = entryFromRow(row, this.#path);
        total += entry.data.byteLength;
        if (result.length > 0 && total > maxBytes) break;
        result.push(entry);
      }
      return result;
    });
  }

  term(i: Index): Term {
    this.#mustBeOpen();
    // Unlike entries(), term() also answers for the snapshot's own index.
    if (i < this.firstIndex() - 1) throw this.#compacted(i);
    if (i > this.#lastIndex) throw this.#unavailable(i);
    return this.#termAt(i);
  }

  firstIndex(): Index {
    this.#mustBeOpen();
    return ((this.#snapshot?.meta.index ?? 0) + 1) as Index;
  }

  lastIndex(): Index {
    this.#mustBeOpen();
    return this.#lastIndex;
  }

  #compacted(i: number): StorageError {
    return new StorageError('Compacted', `entry ${i} is compacted (first index ${this.firstIndex()})`);
  }

  #unavailable(i: number): StorageError {
    return new StorageError('Unavailable', `entry ${i} is past the last index ${this.#lastIndex}`);
  }

  /** Term at `i`, known to be in `[snapshotIndex, lastIndex]`. */
  #termAt(i: number): Term {
    const snapshot = this.#snapshot?.meta;
    if (i === (snapshot?.index ?? 0)) return snapshot?.term ?? (0 as Term);
    const row = this.#read('reading a term', () => this.#sql.termAt.get(i));
    if (row === undefined)
      throw new StorageError('Corrupt', `${this.#path}: entry ${i} is missing`, { file: this.#path });
    return Number(row.term) as Term;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    const writer = await this.createSnapshot(snapshot.meta);
    try {
      await writer.write(snapshot.data);
      await writer.commit();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }

  async createSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    this.#mustBeOpen();
    this.#mustNotBeOlder(meta);
    const id = Number(
      this.#write('staging a snapshot', () =>
        this.#sql.insertStaging.get(meta.index, meta.term, encodeMembership(meta.membership)),
      )?.id,
    );
    return new StagedSnapshotWriter({
      mustBeOpen: () => this.#mustBeOpen(),
      insertChunk: (seq, data) => {
        this.#write('writing a snapshot chunk', () => this.#sql.insertChunk.run(id, seq, data));
      },
      install: (size, digest) => this.#install(id, meta, size, digest),
      discard: () => {
        // A closed store drops its stage on the next open.
        if (this.#closed === null) this.#write('discarding a snapshot', () => this.#dropSnapshot(id));
      },
    });
  }

  #mustNotBeOlder(meta: SnapshotMeta): void {
    const current = this.#snapshot?.meta;
    if (current !== undefined && meta.index < current.index) {
      throw invalid(`snapshot at ${meta.index} is older than the current one at ${current.index}`);
    }
  }

  /**
   * One transaction: the staged snapshot becomes current, the previous one goes, and the log is
   * compacted per the contract. A crash before COMMIT leaves everything as it was.
   */
  #install(id: number, meta: SnapshotMeta, size: number, digest: Uint8Array): void {
    this.#mustBeOpen();
    this.#mustNotBeOlder(meta);
    // mustNotBeOlder leaves meta.index >= the current snapshot's index, where #termAt answers.
    const termHere = meta.index <= this.#lastIndex ? this.#termAt(meta.index) : undefined;
    const keepsLog = termHere === meta.term;
    if (termHere !== undefined && !keepsLog && meta.index <= this.#hardState.commitIndex) {
      throw invalid(
        `snapshot at ${meta.index} (term ${meta.term}) disagrees with committed entry of term ${termHere}`,
      );
    }
    const previous = this.#snapshot;
    this.#write('installing a snapshot', () => {
      if (previous !== null) this.#dropSnapshot(previous.id);
      this.#sql.makeCurrent.run(size, digest, id);
      if (keepsLog) this.#sql.truncateThrough.run(meta.index);
      else this.#sql.truncateFrom.run(0);
    });
    this.#snapshot = { id, meta, size, sha256: digest };
    if (!keepsLog) this.#lastIndex = meta.index;
  }

  #dropSnapshot(id: number): void {
    this.#sql.deleteChunks.run(id);
    this.#sql.deleteSnapshot.run(id);
  }

  snapshotMeta(): SnapshotMeta | null {
    this.#mustBeOpen();
    return this.#snapshot?.meta ?? null;
  }

  async loadSnapshot(): Promise<Snapshot | null> {
    this.#mustBeOpen();
    const snapshot = this.#snapshot;
    if (snapshot === null) return null;
    // One allocation of the final size, filled chunk by chunk: the data is never in memory twice.
    const data = new Uint8Array(snapshot.size);
    let offset = 0;
    for await (const chunk of this.#chunks(snapshot)) {
      data.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return { meta: snapshot.meta, data };
  }

  async *readSnapshot(chunkBytes: number): AsyncIterable<Uint8Array> {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1)
      throw invalid(`chunkBytes must be a positive integer`);
    this.#mustBeOpen();
    const snapshot = this.#snapshot;
    if (snapshot === null) return;
    for await (const chunk of this.#chunks(snapshot)) {
      for (let offset = 0; offset < chunk.byteLength; offset += chunkBytes) {
        yield chunk.subarray(offset, offset + chunkBytes);
      }
    }
  }

  /**
   * The stored chunks in order, one row at a time, checked against the size and SHA-256 recorded
   * at commit; a mismatch rejects `Corrupt` after the chunks before it were yielded.
   */
  async *#chunks(snapshot: CurrentSnapshot): AsyncGenerator<Uint8Array> {
    const hash = sha256.create();
    let size = 0;
    for (let seq = 0; size < snapshot.size; seq++) {
      this.#mustBeOpen();
      const row = this.#read('reading a snapshot', () => this.#sql.chunk.get(snapshot.id, seq));
      if (row === undefined) {
        if (this.#snapshot?.id !== snapshot.id) {
          throw new StorageError('Unavailable', 'the snapshot was replaced while it was being read');
        }
        throw this.#corrupt(`snapshot chunk ${seq} is missing`);
      }
      const data = bytes(row.data, this.#path);
      hash.update(data);
      size += data.byteLength;
      yield data;
    }
    if (size !== snapshot.size || !equalBytes(hash.digest(), snapshot.sha256)) {
      throw this.#corrupt(
        `the snapshot at index ${snapshot.meta.index} does not match its recorded size and SHA-256`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed !== null) return;
    this.#closed = new StorageError('Closed', `${this.#path} is closed`, { file: this.#path });
    this.#conn.close();
  }

  #mustBeOpen(): void {
    if (this.#closed !== null) throw this.#closed;
  }

  /**
   * One write transaction. Any failure is fatal: the store closes and rejects every later call,
   * because after a failed fsync the OS may have dropped pages it claimed were written.
   */
  #write<T>(doing: string, body: () => T): T {
    try {
      return inTransaction(this.#conn, body);
    } catch (error) {
      const failure = toStorageError(this.#driver, error, this.#path, doing);
      this.#closed = new StorageError(
        'Closed',
        `${this.#path} stopped after a failed write: ${failure.message}`,
        {
          file: this.#path,
          cause: failure,
        },
      );
      try {
        this.#conn.close();
      } catch {
        // Already failing; the close error adds nothing to the write error being thrown.
      }
      throw failure;
    }
  }

  #read<T>(doing: string, body: () => T): T {
    try {
      return body();
    } catch (error) {
      throw toStorageError(this.#driver, error, this.#path, doing);
    }
  }

  #corrupt(message: string): StorageError {
    return new StorageError('Corrupt', `${this.#path}: ${message}`, { file: this.#path });
  }

  #readHardState(): HardState {
    const row = this.#sql.hardState.get();
    if (row === undefined) throw this.#corrupt('the hard state row is missing');
    return {
      term: Number(row.term) as Term,
      votedFor: row.voted_for === null ? null : (String(row.voted_for) as NodeId),
      commitIndex: Number(row.commit_index) as Index,
    };
  }

  #readCurrentSnapshot(): CurrentSnapshot | null {
    const row = this.#sql.currentSnapshot.get();
    if (row === undefined) return null;
    return {
      id: Number(row.id),
      meta: {
        index: Number(row.idx) as Index,
        term: Number(row.term) as Term,
        membership: decodeMembership(row.membership, this.#path),
      },
      size: Number(row.size),
      sha256: bytes(row.sha256, this.#path),
    };
  }
}

const invalid = (message: string) => new StorageError('InvalidArgument', message);

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}

function* positions(statement: SqliteStatement): Iterable<LogPosition> {
  for (const row of statement.iterate())
    yield { index: Number(row.idx) as Index, term: Number(row.term) as Term };
}

/** Every statement the store runs, prepared once at open. */
function prepareStatements(conn: SqliteConnection) {
  const sql = (text: string) => conn.prepare(text);
  return {
    hardState: sql('SELECT term, voted_for, commit_index FROM hard_state WHERE id = 1'),
    updateHardState: sql('UPDATE hard_state SET term = ?, voted_for = ?, commit_index = ? WHERE id = 1'),
    allPositions: sql('SELECT idx, term FROM entries ORDER BY idx'),
    allEntries: sql('SELECT idx, term, type, data, crc FROM entries ORDER BY idx'),
    entryRange: sql('SELECT idx, term, type, data, crc FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx'),
    termAt: sql('SELECT term FROM entries WHERE idx = ?'),
    insertEntry: sql('INSERT INTO entries (idx, term, type, data, crc) VALUES (?, ?, ?, ?, ?)'),
    truncateFrom: sql('DELETE FROM entries WHERE idx >= ?'),
    truncateThrough: sql('DELETE FROM entries WHERE idx <= ?'),
    currentSnapshot: sql(
      "SELECT id, idx, term, membership, size, sha256 FROM snapshots WHERE state = 'current'",
    ),
    insertStaging: sql(
      "INSERT INTO snapshots (state, idx, term, membership) VALUES ('staging', ?, ?, ?) RETURNING id",
    ),
    makeCurrent: sql("UPDATE snapshots SET state = 'current', size = ?, sha256 = ? WHERE id = ?"),
    chunk: sql('SELECT data FROM snapshot_chunks WHERE snapshot_id = ? AND seq = ?'),
    insertChunk: sql('INSERT INTO snapshot_chunks (snapshot_id, seq, data) VALUES (?, ?, ?)'),
    deleteChunks: sql('DELETE FROM snapshot_chunks WHERE snapshot_id = ?'),
    deleteSnapshot: sql('DELETE FROM snapshots WHERE id = ?'),
  };
}
