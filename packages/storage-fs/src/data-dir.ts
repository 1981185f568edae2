import type { HardState, StorageErrorKind, StorageIdentity } from '@raftkit/core';
import { StorageError } from '@raftkit/core';
import { LOCK_FILE } from './dir-lock.ts';
import type { FsOps } from './fs-ops.ts';
import { IDENTITY_FILE, IDENTITY_TEMP_FILE, parseIdentity } from './identity-file.ts';
import type { LogIndex } from './log-index.ts';
import { ConsistencyError, Replay } from './replay.ts';
import { scanSegment } from './segment-scan.ts';
import {
  isSnapshotTempName,
  readSnapshotInfo,
  SNAPSHOT_FILE,
  type SnapshotFileInfo,
  SnapshotFormatError,
} from './snapshot-file.ts';
import {
  decodeRecord,
  MalformedRecord,
  parseSegmentName,
  SEGMENT_HEADER_BYTES,
  segmentName,
} from './wal-format.ts';

/** Something wrong on disk, with the file and (where known) the byte offset. */
export interface Problem {
  readonly kind: Extract<StorageErrorKind, 'Corrupt' | 'UnsupportedVersion'>;
  readonly file: string;
  readonly offset: number | undefined;
  readonly message: string;
}

/** A partial write at the end of the newest segment: opening cuts it off. */
export interface TornTail {
  readonly file: string;
  /** Where the last whole record ends; 0 when not even the segment header is whole. */
  readonly offset: number;
  /** Bytes past `offset` that the cut discards. */
  readonly bytes: number;
}

export interface SegmentInfo {
  readonly seq: number;
  readonly path: string;
  /** Where its data ends (once a torn tail, if any, is cut): appends continue here. */
  readonly bytes: number;
  /** The file's size, preallocated space included. */
  readonly fileBytes: number;
}

/** Everything read from a data directory, without changing it. */
export interface DataDirState {
  readonly identity: StorageIdentity | null;
  readonly hardState: HardState;
  readonly snapshot: SnapshotFileInfo | null;
  readonly log: LogIndex;
  /** Whole segments in order; a segment reduced to nothing by a torn header is left out. */
  readonly segments: readonly SegmentInfo[];
  readonly torn: TornTail | null;
  /** The first is what `open` reports; the offline check lists them all. */
  readonly problems: readonly Problem[];
  /** Leftovers of writes a crash interrupted (temp files): harmless, removed on open. */
  readonly leftovers: readonly string[];
  /** Files that are none of ours. */
  readonly unknown: readonly string[];
}

/** The first problem as the error `open` throws. */
export function problemError(problem: Problem): StorageError {
  const where = problem.offset === undefined ? problem.file : `${problem.file} at offset ${problem.offset}`;
  return new StorageError(problem.kind, `${where}: ${problem.message}`, {
    file: problem.file,
    ...(problem.offset === undefined ? {} : { offset: problem.offset }),
  });
}

const isOurs = (name: string): boolean =>
  name === IDENTITY_FILE ||
  name === LOCK_FILE ||
  name === SNAPSHOT_FILE ||
  name === IDENTITY_TEMP_FILE ||
  isSnapshotTempName(name) ||
  parseSegmentName(name) !== null;

/**
 * Reads a data directory: identity, snapshot header and trailer, every WAL segment (checking every
 * frame checksum) and the log's consistency rules. Read-only. Throws only for IO errors and a
 * malformed identity; damage in the log or snapshot is returned as `problems`.
 */
export async function readDataDir(fs: FsOps, dir: string, names: readonly string[]): Promise<DataDirState> {
  const problems: Problem[] = [];
  const identity = names.includes(IDENTITY_FILE)
    ? parseIdentity(await fs.readFile(`${dir}/${IDENTITY_FILE}`), `${dir}/${IDENTITY_FILE}`)
    : null;

  const snapshotPath = `${dir}/${SNAPSHOT_FILE}`;
  let snapshot: SnapshotFileInfo | null = null;
  if (names.includes(SNAPSHOT_FILE)) {
    const file = await fs.open(snapshotPath, 'r');
    try {
      snapshot = await readSnapshotInfo(file);
    } catch (e) {
      if (!(e instanceof SnapshotFormatError)) throw e;
      problems.push({ kind: e.kind, file: snapshotPath, offset: e.offset, message: e.message });
    } finally {
      await file.close();
    }
  }

  const seqs = names
    .map(parseSegmentName)
    .filter((seq): seq is number => seq !== null)
    .sort((a, b) => a - b);
  const replay = new Replay();
  const segments: SegmentInfo[] = [];
  let torn: TornTail | null = null;
  // After the first damaged segment, later ones are still checksummed but no longer replayed.
  let replaying = problems.length === 0;
  for (const [k, seq] of seqs.entries()) {
    const path = `${dir}/${segmentName(seq)}`;
    if (k > 0 && seq !== seqs[k - 1]! + 1) {
      problems.push({
        kind: 'Corrupt',
        file: `${dir}/${segmentName(seqs[k - 1]! + 1)}`,
        offset: undefined,
        message: `WAL segment missing between ${segmentName(seqs[k - 1]!)} and ${segmentName(seq)}`,
      });
      replaying = false;
    }
    const bytes = await fs.readFile(path);
    const scan = scanSegment(bytes, k === seqs.length - 1);
    if (scan.end.type === 'damaged') {
      problems.push({ kind: scan.end.kind, file: path, offset: scan.end.offset, message: scan.end.message });
      replaying = false;
    } else if (!Number.isNaN(scan.seq) && scan.seq !== seq) {
      problems.push({
        kind: 'Corrupt',
        file: path,
        offset: 8,
        message: `segment header says sequence ${scan.seq}`,
      });
      replaying = false;
    }
    if (scan.end.type === 'torn') {
      torn = { file: path, offset: scan.end.offset, bytes: bytes.byteLength - scan.end.offset };
      if (scan.end.offset < SEGMENT_HEADER_BYTES) continue;
    }
    const fileBytes = scan.end.type === 'torn' ? scan.end.offset : bytes.byteLength;
    segments.push({ seq, path, bytes: scan.used, fileBytes });
    if (!replaying) continue;
    for (const frame of scan.frames) {
      try {
        replay.apply(decodeRecord(frame.payload), {
          file: path,
          seq,
          offset: frame.offset,
          payloadOffset: frame.payload.byteOffset - bytes.byteOffset,
        });
      } catch (e) {
        if (!(e instanceof ConsistencyError || e instanceof MalformedRecord)) throw e;
        const offset = e instanceof ConsistencyError ? e.offset : frame.offset;
        problems.push({ kind: 'Corrupt', file: path, offset, message: e.message });
        replaying = false;
        break;
      }
    }
  }
  if (replaying) {
    try {
      replay.finish(snapshot?.meta ?? null, snapshotPath, dir);
    } catch (e) {
      if (!(e instanceof ConsistencyError)) throw e;
      problems.push({ kind: 'Corrupt', file: e.file, offset: e.offset, message: e.message });
    }
  }
  return {
    identity,
    hardState: replay.hardState,
    snapshot,
    log: replay.log,
    segments,
    torn,
    problems,
    leftovers: names.filter((name) => name === IDENTITY_TEMP_FILE || isSnapshotTempName(name)),
    unknown: names.filter((name) => !isOurs(name)),
  };
}
