import type {
  Entry,
  HardState,
  Index,
  Logger,
  PersistedState,
  Snapshot,
  SnapshotMeta,
  SnapshotWriter,
  Storage,
  StorageIdentity,
  StorageWrite,
  Term,
} from '@raftkit/core';
import { admitSnapshot, admitWrite, index, StorageError, type StoredLogView, term } from '@raftkit/core';
import type { DataDirState } from './data-dir.ts';
import { releaseLock } from './dir-lock.ts';
import { failedWith } from './failure-message.ts';
import type { FileOps, FsOps } from './fs-ops.ts';
import type { LogIndex } from './log-index.ts';
import { Segment } from './segment.ts';
import {
  readSnapshotData,
  readSnapshotInfo,
  SNAPSHOT_FILE,
  type SnapshotFileInfo,
  SnapshotFileWriter,
  SnapshotFormatError,
  snapshotTempName,
} from './snapshot-file.ts';
import {
  decodeEntry,
  ENTRY_HEADER_BYTES,
  encodeBatchFrame,
  encodeMarkerFrame,
  encodeSegmentHeader,
  SEGMENT_HEADER_BYTES,
  segmentName,
} from './wal-format.ts';

/** What opening cut off the end of the newest WAL segment (a write the crash interrupted). */
export interface RecoveryReport {
  readonly file: string;
  /** Where the file now ends: after the last whole record (0: the file held no whole header and was removed). */
  readonly offset: number;
  readonly bytesDiscarded: number;
}

export interface FsStorageSettings {
  readonly dir: string;
  readonly identity: StorageIdentity;
  readonly fs: FsOps;
  readonly segmentBytes: number;
  readonly logger: Logger;
  readonly recovery: RecoveryReport | null;
}

/** Preallocation step of the active segment. */
const PREALLOCATE_BYTES = 1 << 20;

const invalid = (message: string) => new StorageError('InvalidArgument', message);

/**
 * The file-system `Storage`: a segmented WAL holding entries, hard state and snapshot markers,
 * plus one snapshot file. Writes run one at a time (a queue); reads run beside them and see only
 * what a finished write made durable. Open it with `openFsStorage`.
 */
export class FsStorage implements Storage {
  readonly identity: StorageIdentity;
  /** The torn tail opening cut off, if any. */
  readonly recovery: RecoveryReport | null;
  private readonly dir: string;
  private readonly fs: FsOps;
  private readonly segmentBytes: number;
  private readonly logger: Logger;
  private readonly log: LogIndex;
  private hardState: HardState;
  private snapshot: SnapshotFileInfo | null;
  private readonly segments: Segment[];
  private nextSeq: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closed: StorageError | null = null;
  private closing: Promise<void> | null = null;
  private tempCounter = 0;
  /** Streamed snapshots still being written: their files close with the store. */
  private readonly writers = new Set<SnapshotFileWriter>();

  /** @internal Made by `openFsStorage`, which recovers the directory first. */
  constructor(settings: FsStorageSettings, state: DataDirState, segments: Segment[], nextSeq: number) {
    this.dir = settings.dir;
    this.identity = settings.identity;
    this.fs = settings.fs;
    this.segmentBytes = settings.segmentBytes;
    this.logger = settings.logger;
    this.recovery = settings.recovery;
    this.log = state.log;
    this.hardState = state.hardState;
    this.snapshot = state.snapshot;
    this.segments = segments;
    this.nextSeq = nextSeq;
  }

  // ---- reads -------------------------------------------------------------------------------

  async load(): Promise<PersistedState> {
    this.assertOpen();
    const entries =
      this.log.length === 0 ? [] : await this.entries(this.firstIndex(), index(this.log.lastIndex + 1));
    return { hardState: this.hardState, snapshot: await this.loadSnapshot(), entries };
  }

  firstIndex(): Index {
    this.assertOpen();
    return index(this.log.baseIndex + 1);
  }

  lastIndex(): Index {
    this.assertOpen();
    return index(this.log.lastIndex);
  }

  term(i: Index): Term {
    this.assertOpen();
    // The snapshot's own index answers too: the core needs it to check AppendEntries' prevLogTerm.
    this.checkRange(i, i + 1, this.log.baseIndex);
    return term(this.log.termAt(i));
  }

  async entries(low: Index, high: Index, maxBytes = Number.POSITIVE_INFINITY): Promise<Entry[]> {
    this.assertOpen();
    if (low > high) throw invalid(`entries(${low}, ${high}): low is above high`);
    if (low === high) return [];
    this.checkRange(low, high, this.log.baseIndex + 1);
    const log = this.log;
    // Choose the entries first (sizes are in memory), then read each same-segment run at once.
    let end = low + 1;
    let bytes = log.sizeAt(low) - ENTRY_HEADER_BYTES;
    while (end < high) {
      bytes += log.sizeAt(end) - ENTRY_HEADER_BYTES;
      if (bytes > maxBytes) break;
      end++;
    }
    const runs: { segment: Segment; first: number; last: number }[] = [];
    for (let i: number = low; i < end; ) {
      const seq = log.seqAt(i);
      let last = i;
      while (last + 1 < end && log.seqAt(last + 1) === seq) last++;
      runs.push({ segment: this.segmentFor(seq), first: i, last });
      i = last + 1;
    }
    for (const run of runs) run.segment.retain();
    try {
      const out: Entry[] = [];
      for (const { segment, first, last } of runs) {
        const start = log.offsetAt(first);
        const span = new Uint8Array(log.offsetAt(last) + log.sizeAt(last) - start);
        const got = await segment.file.read(span, start);
        if (got !== span.byteLength) {
          throw new StorageError('Corrupt', `${segment.path}: file ends before entry ${last}`, {
            file: segment.path,
            offset: start + got,
          });
        }
        for (let i = first; i <= last; i++) {
          const at = log.offsetAt(i) - start;
          out.push(decodeEntry(span.subarray(at, at + log.sizeAt(i)), i));
        }
      }
      return out;
    } catch (cause) {
      if (cause instanceof StorageError) throw cause;
      throw new StorageError('Io', failedWith(`reading entries ${low}..${end - 1}`, cause), { cause });
    } finally {
      for (const run of runs) await run.segment.release();
    }
  }

  /** Throws `Compacted` below `lowest` and `Unavailable` past the last index. */
  private checkRange(low: number, high: number, lowest: number): void {
    if (low < lowest) {
      throw new StorageError(
        'Compacted',
        `index ${low} is compacted (the log starts after ${this.log.baseIndex})`,
      );
    }
    if (high - 1 > this.log.lastIndex) {
      throw new StorageError('Unavailable', `index ${high - 1} is past the last index ${this.log.lastIndex}`);
    }
  }

  private segmentFor(seq: number): Segment {
    const segment = this.segments.find((s) => s.seq === seq);
    if (segment === undefined) throw new Error(`bug: no open segment ${seq} for a live entry`);
    return segment;
  }

  snapshotMeta(): SnapshotMeta | null {
    this.assertOpen();
    return this.snapshot?.meta ?? null;
  }

  async loadSnapshot(): Promise<Snapshot | null> {
    let meta: SnapshotMeta | null = null;
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.streamSnapshot(1 << 24, (info) => (meta = info.meta))) chunks.push(chunk);
    if (meta === null) return null;
    if (chunks.length === 1) return { meta, data: chunks[0]! };
    const data = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const chunk of chunks) {
      data.set(chunk, at);
      at += chunk.byteLength;
    }
    return { meta, data };
  }

  readSnapshot(chunkBytes: number): AsyncIterable<Uint8Array> {
    return this.streamSnapshot(chunkBytes, () => {});
  }

  /**
   * Streams the snapshot file's data, verifying its checksum. Metadata and data both come from
   * the one open handle, which keeps reading this snapshot even if a newer one is renamed over it
   * meanwhile (reading `this.snapshot` instead could pair one file's metadata with another's data).
   */
  private async *streamSnapshot(
    chunkBytes: number,
    onInfo: (info: SnapshotFileInfo) => void,
  ): AsyncGenerator<Uint8Array> {
    this.assertOpen();
    if (!(chunkBytes >= 1)) throw invalid(`chunkBytes must be at least 1, got ${chunkBytes}`);
    if (this.snapshot === null) return;
    const path = `${this.dir}/${SNAPSHOT_FILE}`;
    let file: FileOps | null = null;
    try {
      file = await this.fs.open(path, 'r');
      const info = await readSnapshotInfo(file);
      onInfo(info);
      yield* readSnapshotData(file, info, chunkBytes);
    } catch (e) {
      if (e instanceof SnapshotFormatError) {
        throw new StorageError(e.kind, `${path} at offset ${e.offset}: ${e.message}`, {
          file: path,
          offset: e.offset,
        });
      }
      throw new StorageError('Io', `${path}: ${failedWith('reading the snapshot', e)}`, {
        file: path,
        cause: e,
      });
    } finally {
      await file?.close();
    }
  }

  // ---- writes ------------------------------------------------------------------------------

  save(write: StorageWrite): Promise<void> {
    return this.exclusive(async () => {
      const entries = admitWrite(this.view(), write);
      const hardState = write.hardState ?? null;
      if (entries.length === 0 && hardState === null) return;

      const batch = encodeBatchFrame(hardState, entries);
      const { segment, at } = await this.append(batch.bytes);
      if (entries.length > 0) {
        this.log.truncateAfter(entries[0]!.index - 1);
        for (const [k, entry] of entries.entries()) {
          this.log.push(
            entry.term,
            segment.seq,
            at + batch.entryOffsets[k]!,
            ENTRY_HEADER_BYTES + entry.data.byteLength,
          );
        }
      }
      if (hardState !== null) this.hardState = hardState;
    });
  }

  /** The stored state as the shared contract checks see it. */
  private view(): StoredLogView {
    const log = this.log;
    return {
      snapshotIndex: log.baseIndex,
      lastIndex: log.lastIndex,
      commitIndex: this.hardState.commitIndex,
      termAt: (i) => log.termAt(i),
    };
  }

  /**
   * Appends frames to the active segment with one write and one fdatasync. Starts a new segment
   * once the active one is full; a new segment opens with the current hard state, so deleting
   * older segments can never lose it.
   *
   * Segments grow by preallocating `PREALLOCATE_BYTES` of zeros at a time: an append that only
   * overwrites allocated space changes no file metadata, so its fdatasync is a pure data flush
   * (no journal commit), which roughly halves its cost on common file systems.
   */
  private async append(frames: Uint8Array): Promise<{ segment: Segment; at: number }> {
    const active = this.segments.at(-1);
    try {
      if (
        active !== undefined &&
        (active.size === SEGMENT_HEADER_BYTES || active.size + frames.byteLength <= this.segmentBytes)
      ) {
        const at = active.size;
        await active.file.write(this.padded(frames, at, active.allocated), at);
        await active.file.datasync();
        active.size += frames.byteLength;
        active.allocated = Math.max(
          active.allocated,
          at + frames.byteLength + this.padding(at + frames.byteLength, active.allocated),
        );
        return { segment: active, at };
      }
      if (active !== undefined) {
        // Older segments end exactly at their data, so a zero tail anywhere but the newest is damage.
        await active.file.truncate(active.size);
        await active.file.datasync();
        active.allocated = active.size;
      }
      const seq = this.nextSeq;
      const path = `${this.dir}/${segmentName(seq)}`;
      const header = encodeSegmentHeader(seq);
      const lead = encodeBatchFrame(this.hardState, []).bytes;
      const body = new Uint8Array(header.byteLength + lead.byteLength + frames.byteLength);
      body.set(header);
      body.set(lead, header.byteLength);
      body.set(frames, header.byteLength + lead.byteLength);
      const bytes = this.padded(body, 0, 0);
      const file = await this.fs.open(path, 'wx+');
      const segment = new Segment(seq, path, file, 0, 0);
      this.segments.push(segment);
      await file.write(bytes, 0);
      await file.sync();
      await this.fs.syncDir(this.dir);
      segment.size = body.byteLength;
      segment.allocated = bytes.byteLength;
      this.nextSeq = seq + 1;
      return { segment, at: header.byteLength + lead.byteLength };
    } catch (cause) {
      throw this.fail(cause, 'appending to the WAL');
    }
  }

  /** Zeros to add after data ending at `end` so the file keeps preallocated room. */
  private padding(end: number, allocated: number): number {
    if (end <= allocated) return 0;
    const step = Math.min(PREALLOCATE_BYTES, this.segmentBytes);
    return Math.ceil(end / step) * step - end;
  }

  /** `data` written at `at`, followed by fresh preallocated zeros when it passes `allocated`. */
  private padded(data: Uint8Array, at: number, allocated: number): Uint8Array {
    const extra = this.padding(at + data.byteLength, allocated);
    if (extra === 0) return data;
    const out = new Uint8Array(data.byteLength + extra);
    out.set(data);
    return out;
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.exclusive(async () => {
      admitSnapshot(this.view(), snapshot.meta);
      const temp = `${this.dir}/${snapshotTempName(this.tempCounter++)}`;
      let info: SnapshotFileInfo;
      let writer: SnapshotFileWriter | null = null;
      try {
        writer = await SnapshotFileWriter.create(this.fs, temp, snapshot.meta);
        await writer.write(snapshot.data);
        info = await writer.finish();
      } catch (cause) {
        await writer?.close().catch(() => {});
        throw this.fail(cause, 'writing a snapshot');
      }
      await this.install(temp, info);
    });
  }

  async createSnapshot(meta: SnapshotMeta): Promise<SnapshotWriter> {
    await this.exclusive(async () => admitSnapshot(this.view(), meta));
    const temp = `${this.dir}/${snapshotTempName(this.tempCounter++)}`;
    let writer: SnapshotFileWriter;
    try {
      writer = await SnapshotFileWriter.create(this.fs, temp, meta);
    } catch (cause) {
      throw this.fail(cause, 'creating a snapshot');
    }
    this.writers.add(writer);
    let state: 'open' | 'committed' | 'aborted' = 'open';
    const ensureOpen = () => {
      this.assertOpen();
      if (state !== 'open') throw invalid(`the snapshot writer is already ${state}`);
    };
    return {
      write: async (chunk) => {
        ensureOpen();
        try {
          await writer.write(chunk);
        } catch (cause) {
          throw this.fail(cause, 'writing a snapshot');
        }
      },
      commit: async () => {
        ensureOpen();
        state = 'committed';
        try {
          // Sealed (trailer and fsync) outside the write queue: the file is ours alone until
          // installed, and flushing megabytes would hold up every log append queued behind it.
          let info: SnapshotFileInfo;
          try {
            info = await writer.finish();
          } catch (cause) {
            throw this.fail(cause, 'writing a snapshot');
          }
          await this.exclusive(async () => {
            admitSnapshot(this.view(), meta);
            await this.install(temp, info);
          });
        } finally {
          // Installed, refused (a newer snapshot won) or failed: the file is done either way. A
          // leftover temp file is harmless (the next open removes it).
          this.writers.delete(writer);
          await writer.close().catch(() => {});
        }
      },
      abort: async () => {
        if (state !== 'open') return;
        state = 'aborted';
        this.writers.delete(writer);
        // A leftover temp file is harmless (the next open removes it), so cleanup errors are not fatal.
        await writer.close().catch(() => {});
        await this.fs.unlink(temp).catch(() => {});
      },
    };
  }

  /**
   * Renames a sealed snapshot into place, records it in the WAL, then compacts: the order makes
   * every crash point recoverable (before the rename the old snapshot holds; after it, opening
   * applies the new snapshot's rule even if the marker never made it).
   */
  private async install(temp: string, info: SnapshotFileInfo): Promise<void> {
    const { meta } = info;
    const log = this.log;
    const logKept = admitSnapshot(this.view(), meta);
    try {
      await this.fs.rename(temp, `${this.dir}/${SNAPSHOT_FILE}`);
      await this.fs.syncDir(this.dir);
    } catch (cause) {
      throw this.fail(cause, 'installing a snapshot');
    }
    this.snapshot = info;
    await this.append(encodeMarkerFrame(meta.index, meta.term, logKept));
    if (logKept) log.dropThrough(meta.index, meta.term);
    else log.reset(meta.index, meta.term);
    await this.compact();
  }

  /** Deletes the segments holding no live entry (all at or below the snapshot), oldest first. */
  private async compact(): Promise<void> {
    const active = this.segments.at(-1);
    const keepFrom = this.log.length > 0 ? this.log.seqAt(this.log.baseIndex + 1) : (active?.seq ?? 0);
    const doomed = this.segments.filter((s) => s.seq < keepFrom);
    if (doomed.length === 0) return;
    try {
      for (const segment of doomed) {
        this.segments.splice(this.segments.indexOf(segment), 1);
        await segment.retire(() => this.fs.unlink(segment.path));
      }
      await this.fs.syncDir(this.dir);
    } catch (cause) {
      throw this.fail(cause, 'deleting compacted WAL segments');
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.closed === null) this.closed = new StorageError('Closed', 'storage is closed');
    this.closing = this.queue.then(() => this.release());
    return this.closing;
  }

  private async release(): Promise<void> {
    for (const writer of this.writers) await writer.close().catch(() => {});
    this.writers.clear();
    for (const segment of this.segments) await segment.retire().catch(() => {});
    this.segments.length = 0;
    await releaseLock(this.fs, this.dir).catch((cause) =>
      this.logger.warn('could not remove the lock file', { dir: this.dir, cause: String(cause) }),
    );
  }

  /**
   * A failed write or fsync is fatal: after a failed fsync the page cache may claim data is on disk
   * that is not, so retrying could acknowledge lost entries. Close, and make every later call fail.
   */
  private fail(cause: unknown, doing: string): StorageError {
    const error = new StorageError('Io', `${this.dir}: ${failedWith(doing, cause)}; storage closed`, {
      cause,
    });
    if (this.closed === null) {
      this.closed = new StorageError('Closed', `storage closed after a failure: ${error.message}`, {
        cause: error,
      });
      this.logger.warn('storage failed; closing', { dir: this.dir, cause: String(cause) });
      this.closing = this.release();
    }
    return error;
  }

  private assertOpen(): void {
    if (this.closed !== null) throw this.closed;
  }

  /** Runs `task` after every earlier write; a rejected task does not block later ones. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      this.assertOpen();
      return task();
    });
    this.queue = run.catch(() => {});
    return run;
  }
}
