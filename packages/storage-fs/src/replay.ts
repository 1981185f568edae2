import type { HardState, SnapshotMeta } from '@raftkit/core';
import { index, term } from '@raftkit/core';
import { LogIndex } from './log-index.ts';
import type { WalRecord } from './wal-format.ts';

/** Where a record was read from, for errors. */
export interface RecordSource {
  readonly file: string;
  readonly seq: number;
  /** Offset of the record's frame in `file`. */
  readonly offset: number;
  /** Offset of the record's payload in `file` (entry offsets are relative to it). */
  readonly payloadOffset: number;
}

/** A consistency rule the log on disk breaks. */
export class ConsistencyError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly offset: number | undefined,
  ) {
    super(message);
  }
}

export const initialHardState: HardState = { term: term(0), votedFor: null, commitIndex: index(0) };

/**
 * Rebuilds the log from WAL records in the order they were written, checking on the way that
 * what was written obeys the rules `save()` enforces: indexes contiguous, terms never going
 * down, no committed entry replaced, snapshots moving forward. Any violation throws
 * `ConsistencyError`: the files are damaged or were written by something else, and guessing a
 * repair could lose acknowledged entries.
 *
 * Replay may start mid-history (compaction deleted older segments), so the term before the first
 * entry seen can be unknown (NaN) until a snapshot marker or the snapshot file settles it.
 */
export class Replay {
  readonly log = new LogIndex();
  hardState: HardState = initialHardState;
  private hardStateSource: RecordSource | null = null;
  private started = false;
  private lastMarker: { index: number; term: number; source: RecordSource } | null = null;

  apply(record: WalRecord, source: RecordSource): void {
    if (record.type === 'marker') this.marker(record.index, record.term, record.logKept, source);
    else {
      if (record.count > 0) this.entries(record, source);
      if (record.hardState !== null) {
        this.hardState = record.hardState;
        this.hardStateSource = source;
      }
    }
  }

  private entries(record: Extract<WalRecord, { type: 'batch' }>, source: RecordSource): void {
    const log = this.log;
    const first = record.firstIndex;
    const fail = (message: string) => {
      throw new ConsistencyError(message, source.file, source.offset);
    };
    if (!Number.isSafeInteger(first) || first < 1) fail(`batch starts at invalid index ${first}`);
    if (!this.started) {
      log.reset(first - 1, Number.NaN);
      this.started = true;
    } else if (first > log.lastIndex + 1) {
      fail(`gap in the log: entry ${first} follows entry ${log.lastIndex}`);
    } else if (first <= log.baseIndex) {
      if (!Number.isNaN(log.baseTerm))
        fail(`entry ${first} is at or below the snapshot index ${log.baseIndex}`);
      // The entries seen so far were a suffix this batch replaces: history before them was compacted.
      log.reset(first - 1, Number.NaN);
    } else if (first <= log.lastIndex) {
      if (first <= this.hardState.commitIndex) {
        fail(`entry ${first} replaces a committed entry (commit index ${this.hardState.commitIndex})`);
      }
      log.truncateAfter(first - 1);
    }
    let previous = log.termAt(first - 1);
    for (let k = 0; k < record.count; k++) {
      const entryTerm = record.terms[k]!;
      // NaN (unknown) compares false, so an unknown predecessor never fails the check.
      if (entryTerm < previous || !Number.isSafeInteger(entryTerm)) {
        fail(`term goes down from ${previous} to ${entryTerm} at entry ${first + k}`);
      }
      previous = entryTerm;
      log.push(entryTerm, source.seq, source.payloadOffset + record.offsets[k]!, record.sizes[k]!);
    }
  }

  private marker(i: number, t: number, logKept: boolean, source: RecordSource): void {
    const log = this.log;
    if (this.lastMarker !== null && i < this.lastMarker.index) {
      throw new ConsistencyError(
        `snapshot marker at index ${i} follows one at ${this.lastMarker.index}: snapshots went backwards`,
        source.file,
        source.offset,
      );
    }
    this.lastMarker = { index: i, term: t, source };
    if (!logKept || !this.started) {
      log.reset(i, t);
    } else if (i > log.lastIndex) {
      throw new ConsistencyError(
        `snapshot at index ${i} kept the log, but the log ends at ${log.lastIndex}`,
        source.file,
        source.offset,
      );
    } else if (i >= log.baseIndex) {
      const found = log.termAt(i);
      if (!Number.isNaN(found) && found !== t) {
        throw new ConsistencyError(
          `snapshot at index ${i} term ${t} kept a log whose entry ${i} has term ${found}`,
          source.file,
          source.offset,
        );
      }
      log.dropThrough(i, t);
    }
    // i < baseIndex: the kept entries start after it; what lies between was compacted earlier.
    this.started = true;
  }

  /**
   * Settles the log against the snapshot file in force. A snapshot without its marker is one whose
   * save crashed after the rename: apply its rule (keep the log after it if the entry at its index
   * agrees, else discard the log) exactly as the save would have.
   */
  finish(snapshot: SnapshotMeta | null, snapshotFile: string, walDir: string): void {
    const log = this.log;
    const marker = this.lastMarker;
    if (snapshot === null) {
      if (marker !== null) {
        throw new ConsistencyError(
          `the WAL records a snapshot at index ${marker.index}, but the snapshot file is missing`,
          snapshotFile,
          undefined,
        );
      }
      if (!this.started || log.length === 0) log.reset(0, 0);
      else if (log.baseIndex !== 0) {
        throw new ConsistencyError(
          `the log starts at entry ${log.baseIndex + 1}: entries 1..${log.baseIndex} are missing and there is no snapshot`,
          walDir,
          undefined,
        );
      }
      log.baseTerm = 0;
    } else {
      const s = { index: snapshot.index as number, term: snapshot.term as number };
      if (marker !== null && marker.index > s.index) {
        throw new ConsistencyError(
          `the snapshot file is at index ${s.index}, older than the snapshot at ${marker.index} the WAL records`,
          snapshotFile,
          undefined,
        );
      }
      const agrees = this.started && s.index >= log.baseIndex && s.index <= log.lastIndex;
      const found = agrees ? log.termAt(s.index) : Number.NaN;
      if (agrees && (found === s.term || Number.isNaN(found))) log.dropThrough(s.index, s.term);
      else if (!this.started || s.index > log.lastIndex || (agrees && found !== s.term))
        log.reset(s.index, s.term);
      if (log.baseIndex !== s.index) {
        throw new ConsistencyError(
          `the log starts at entry ${log.baseIndex + 1} but the snapshot ends at ${s.index}: entries are missing`,
          walDir,
          undefined,
        );
      }
    }
    if (this.hardState.commitIndex > log.lastIndex) {
      const source = this.hardStateSource;
      throw new ConsistencyError(
        `commit index ${this.hardState.commitIndex} is beyond the last entry ${log.lastIndex}`,
        source?.file ?? walDir,
        source?.offset,
      );
    }
  }
}
