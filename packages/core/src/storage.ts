import type { Entry, HardState, Index, NodeId, Snapshot, SnapshotMeta, Term } from './types.ts';

/**
 * Who a data directory belongs to. Written once when storage is first created; opening it with
 * a different identity fails with a `StorageError` of kind `IdentityMismatch`, so a node can
 * never silently join a cluster it was not part of.
 */
export interface StorageIdentity {
  readonly clusterId: string;
  readonly nodeId: NodeId;
}

/** Everything the core needs to restart where it stopped. */
export interface PersistedState {
  readonly hardState: HardState;
  /** The latest snapshot, if any; the log starts right after `snapshot.meta.index`. */
  readonly snapshot: Snapshot | null;
  /** Every entry after the snapshot, in index order, contiguous. */
  readonly entries: readonly Entry[];
}

/**
 * What one `Ready` asks to persist. Every field is optional; absent means unchanged.
 *
 * Rejected with `InvalidArgument` (nothing written) when: the entries are not contiguous and
 * ascending, leave a gap after the last stored index, have a term lower than the entry before
 * them, would replace an entry at or below the stored commit index, or when the resulting
 * `commitIndex` would be past the last index.
 */
export interface StorageWrite {
  /**
   * Appended after truncating any stored entry with index >= `entries[0].index` (that suffix
   * conflicts with the leader's log, Raft §5.3). Contiguous, ascending. Entries at or below the
   * snapshot index are skipped: they are committed, so by Log Matching they equal what the
   * snapshot covers.
   */
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
}

/**
 * The fixed set of ways storage can fail, compared by kind, never by message text. `Compacted` and
 * `Unavailable` are answers the core expects; the others mean the node cannot go on safely.
 */
export type StorageErrorKind =
  /** The requested entries were compacted into a snapshot. */
  | 'Compacted'
  /** The requested entries are beyond the last index. */
  | 'Unavailable'
  /** Stored bytes fail a checksum or a consistency rule; `file` and `offset` say where. */
  | 'Corrupt'
  /** The directory belongs to another node or cluster. */
  | 'IdentityMismatch'
  /** Another process holds the directory's lock. */
  | 'Locked'
  /** The storage was closed, or stopped after a failed write or fsync (never retried). */
  | 'Closed'
  /** An IO failure (ENOSPC, EIO, EROFS, ...); `cause` holds the original. */
  | 'Io'
  /** The data was written by an incompatible format version. */
  | 'UnsupportedVersion'
  /**
   * The caller asked for something the contract forbids (a gap in the log, a term going down, a
   * commit index past the last entry, a snapshot older than the current one). Nothing changed.
   */
  | 'InvalidArgument';

/**
 * A storage failure of one `kind`, with `file` and `offset` where the store knows them (for `Corrupt`,
 * where the bad bytes are) and the underlying error as `cause`.
 */
export class StorageError extends Error {
  readonly kind: StorageErrorKind;
  readonly file: string | undefined;
  readonly offset: number | undefined;

  constructor(
    kind: StorageErrorKind,
    message: string,
    options: { file?: string; offset?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.kind = kind;
    this.file = options.file;
    this.offset = options.offset;
  }
}

/** Whether `e` is a `StorageError`, optionally of the given `kind`; narrows the type. */
export const isStorageError = (e: unknown, kind?: StorageErrorKind): e is StorageError =>
  e instanceof StorageError && (kind === undefined || e.kind === kind);

/** Streams a large snapshot into storage without holding it whole in memory. */
export interface SnapshotWriter {
  /** Appends the next chunk. Not durable until `commit` resolves. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the snapshot durable and the latest one, then compacts the log up to its index. */
  commit(): Promise<void>;
  /** Discards what was written; the previous snapshot stays in force. Idempotent. */
  abort(): Promise<void>;
}

/**
 * Durable state for one Raft node: hard state, log and snapshots.
 *
 * Durability: every method that returns a promise of a write resolves only once the data is on
 * stable storage (fsync of the file, and of the directory after a create or rename). A failed
 * write or fsync is fatal: the storage closes itself, rejects every later call with `Closed`,
 * and never retries (after an fsync error the page cache may lie about what is on disk).
 *
 * Ranges are half-open: `entries(low, high)` returns indexes `low <= i < high`.
 * `term(i)` answers for `snapshotIndex <= i <= lastIndex` (the snapshot's own index included).
 *
 * A fresh store loads as hard state `{ term: 0, votedFor: null, commitIndex: 0 }`, no snapshot
 * and no entries (`firstIndex() === 1`, `lastIndex() === 0`). A data directory (or database)
 * belongs to one process at a time: a second open while the first is not closed fails with
 * `Locked`. Reads see only what a completed write made durable. After `close()`, or after a
 * failed write, every call rejects (or, for the synchronous ones, throws) `Closed`.
 */
export interface Storage {
  readonly identity: StorageIdentity;

  /** Reads everything needed to restart the core. Called once after opening. */
  load(): Promise<PersistedState>;

  /** Persists one Ready's entries and hard state with a single fsync (group commit). */
  save(write: StorageWrite): Promise<void>;

  /**
   * Entries in `[low, high)`; at most `maxBytes` of payload (`data.byteLength` summed) but always
   * at least one entry when `low < high`. Rejects `Compacted` when `low < firstIndex()` and
   * `Unavailable` when `high > lastIndex() + 1`; `low === high` gives `[]`.
   */
  entries(low: Index, high: Index, maxBytes?: number): Promise<Entry[]>;
  /** Term of entry `i`; throws `Compacted` below the snapshot and `Unavailable` past the end. */
  term(i: Index): Term;
  /** Index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): Index;
  /** Index of the last entry, or the snapshot index when the log is empty. */
  lastIndex(): Index;

  /**
   * Makes `snapshot` the latest snapshot, durably, and discards log entries up to its index. If
   * the log holds an entry at `meta.index` with `meta.term`, the entries after it are kept (the
   * application compacted its own log); otherwise the whole log is discarded (a snapshot from the
   * leader replaced a log that disagrees with it). Never discards entries above `meta.index`
   * that agree with the snapshot. Rejects `InvalidArgument` for a snapshot older than the current
   * one, or one that disagrees with a committed entry.
   */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** Like `saveSnapshot`, but the data arrives in chunks. */
  createSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter>;
  /** The latest snapshot's metadata, or null. */
  snapshotMeta(): SnapshotMeta | null;
  /** The latest snapshot, whole. */
  loadSnapshot(): Promise<Snapshot | null>;
  /**
   * The latest snapshot's data in chunks of at most `chunkBytes` (nothing when there is none).
   * Stores that checksum the data verify it while streaming: a mismatch rejects `Corrupt` when
   * reached, after the chunks before it were yielded, so consumers must not trust the data
   * before the iteration completes.
   */
  readSnapshot(chunkBytes: number): AsyncIterable<Uint8Array>;

  /** Releases files, handles and the directory lock. Idempotent. */
  close(): Promise<void>;
}

/** What the contract's input checks need to know of a store's current state. */
export interface StoredLogView {
  /** The snapshot's index, or 0. */
  readonly snapshotIndex: number;
  /** The last entry's index, or `snapshotIndex` when the log is empty. */
  readonly lastIndex: number;
  /** The stored hard state's commit index. */
  readonly commitIndex: number;
  /** Term at `i` for `snapshotIndex <= i <= lastIndex`. */
  termAt(i: number): number;
}

const invalidArgument = (message: string) => new StorageError('InvalidArgument', message);

/**
 * The `save()` preconditions every backend enforces, shared so they cannot drift apart. Throws
 * `InvalidArgument`; returns the entries to store (those at or below the snapshot dropped).
 */
export function admitWrite(log: StoredLogView, write: StorageWrite): readonly Entry[] {
  const given = write.entries ?? [];
  const entries =
    given.length > 0 && given[0]!.index <= log.snapshotIndex
      ? given.filter((e) => e.index > log.snapshotIndex)
      : given;
  const first = entries[0]?.index;
  if (first !== undefined) {
    if (!Number.isSafeInteger(first)) throw invalidArgument(`entry index ${first} is not an integer`);
    if (first > log.lastIndex + 1) {
      throw invalidArgument(`entry ${first} would leave a gap after the last index ${log.lastIndex}`);
    }
    if (first <= log.lastIndex && first <= log.commitIndex) {
      throw invalidArgument(
        `entry ${first} would replace a committed entry (commit index ${log.commitIndex})`,
      );
    }
    let previous = log.termAt(first - 1);
    for (const [k, entry] of entries.entries()) {
      if (entry.index !== first + k)
        throw invalidArgument(`entries are not contiguous at index ${entry.index}`);
      if (!Number.isSafeInteger(entry.term) || entry.term < previous) {
        throw invalidArgument(
          `entry ${entry.index} has term ${entry.term}, below the term ${previous} before it`,
        );
      }
      previous = entry.term;
    }
  }
  const lastAfter = entries.at(-1)?.index ?? log.lastIndex;
  const commit = write.hardState?.commitIndex ?? log.commitIndex;
  if (write.hardState !== undefined && !Number.isSafeInteger(write.hardState.term)) {
    throw invalidArgument(`hard state term ${write.hardState.term} is not an integer`);
  }
  if (commit > lastAfter)
    throw invalidArgument(`commit index ${commit} would be past the last index ${lastAfter}`);
  return entries;
}

/**
 * The `saveSnapshot()` preconditions (throws `InvalidArgument`). Returns whether the log after
 * the snapshot is kept: it holds an entry at `meta.index` with `meta.term`.
 */
export function admitSnapshot(log: StoredLogView, meta: SnapshotMeta): boolean {
  if (!Number.isSafeInteger(meta.index) || !Number.isSafeInteger(meta.term) || meta.index < 0) {
    throw invalidArgument('snapshot index and term must be non-negative integers');
  }
  if (meta.index < log.snapshotIndex) {
    throw invalidArgument(`snapshot at ${meta.index} is older than the current one at ${log.snapshotIndex}`);
  }
  const inLog = meta.index <= log.lastIndex;
  const agrees = inLog && log.termAt(meta.index) === meta.term;
  if (inLog && !agrees && meta.index <= log.commitIndex) {
    throw invalidArgument(
      `snapshot at ${meta.index} term ${meta.term} disagrees with the committed entry there`,
    );
  }
  return agrees;
}
