import { dirname } from 'node:path';
import type { Logger, StorageIdentity } from '@raftkit/core';
import { StorageError, silentLogger } from '@raftkit/core';
import { problemError, readDataDir } from './data-dir.ts';
import { acquireLock, LOCK_FILE, type ProcessTable, releaseLock } from './dir-lock.ts';
import { failedWith } from './failure-message.ts';
import { type FsOps, nodeFsOps } from './fs-ops.ts';
import { FsStorage, type RecoveryReport } from './fs-storage.ts';
import {
  checkIdentity,
  IDENTITY_FILE,
  IDENTITY_TEMP_FILE,
  parseIdentity,
  writeIdentity,
} from './identity-file.ts';
import { Segment } from './segment.ts';
import { SNAPSHOT_FILE } from './snapshot-file.ts';
import { parseSegmentName, SEGMENT_HEADER_BYTES } from './wal-format.ts';

/** How `openFsStorage` opens a data directory. */
export interface FsStorageOptions {
  /** The node's data directory; created (with its parents) on first use. */
  readonly dir: string;
  /** Written at bootstrap; a directory written with another identity refuses to open. */
  readonly identity: StorageIdentity;
  /** A segment is closed to appends once it would pass this size. Default 64 MiB, at least 1 KiB. */
  readonly segmentBytes?: number;
  readonly logger?: Logger;
  /** Called when opening cut a torn write off the WAL's tail (also logged as a warning). */
  readonly onRecovery?: (report: RecoveryReport) => void;
  /** File-system operations; tests inject faults through this. Default: `node:fs/promises`. */
  readonly fs?: FsOps;
  /** How the directory lock sees processes, to tell a stale lock. Default: the system's (`/proc`, `kill -0`). */
  readonly processes?: ProcessTable;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

const ioError = (dir: string, doing: string, cause: unknown): StorageError =>
  cause instanceof StorageError
    ? cause
    : new StorageError('Io', `${dir}: ${failedWith(doing, cause)}`, { file: dir, cause });

/**
 * Opens (creating on first use) the file-system storage in `options.dir`: takes the directory
 * lock, checks the identity, reads and verifies the WAL and snapshot, cuts a torn tail off the
 * newest segment (reported through `onRecovery` and the logger), removes temp files an
 * interrupted write left behind. Fails with `IdentityMismatch`, `Locked`, `Corrupt`,
 * `UnsupportedVersion` or `Io`; on failure nothing on disk is changed.
 */
export async function openFsStorage(options: FsStorageOptions): Promise<FsStorage> {
  const { dir, identity } = options;
  const fs = options.fs ?? nodeFsOps;
  const logger = options.logger ?? silentLogger;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!(segmentBytes >= 1024)) {
    throw new StorageError('InvalidArgument', 'segmentBytes must be at least 1024');
  }

  let names: string[];
  try {
    await fs.mkdir(dir);
    names = await fs.readdir(dir);
  } catch (cause) {
    throw ioError(dir, 'opening the data directory', cause);
  }
  // Refuse before taking the lock (and before reading the log), so a directory that is not ours
  // is left exactly as it was and the error names the real reason even while its owner runs.
  if (names.includes(IDENTITY_FILE)) {
    const file = `${dir}/${IDENTITY_FILE}`;
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(file);
    } catch (cause) {
      throw ioError(dir, 'reading the identity file', cause);
    }
    checkIdentity(parseIdentity(bytes, file), identity, file);
  } else {
    const foreign = names.filter((name) => name !== LOCK_FILE && name !== IDENTITY_TEMP_FILE);
    if (names.some((name) => name === SNAPSHOT_FILE || parseSegmentName(name) !== null)) {
      // Our files without the identity: bootstrapping afresh here would silently adopt a stranger's log.
      throw new StorageError(
        'Corrupt',
        `${dir}: the ${IDENTITY_FILE} file is missing from a raftkit data directory`,
        {
          file: `${dir}/${IDENTITY_FILE}`,
        },
      );
    }
    if (foreign.length > 0) {
      throw new StorageError(
        'IdentityMismatch',
        `${dir}: not a raftkit data directory (it has ${foreign.slice(0, 3).join(', ')} but no ${IDENTITY_FILE} file)`,
        { file: `${dir}/${IDENTITY_FILE}` },
      );
    }
  }

  try {
    await acquireLock(fs, dir, options.processes);
  } catch (cause) {
    throw ioError(dir, 'taking the directory lock', cause);
  }
  const segments: Segment[] = [];
  try {
    names = await fs.readdir(dir);
    if (!names.includes(IDENTITY_FILE)) {
      await writeIdentity(fs, dir, identity);
      // The directory itself may be new: make its entry in the parent durable too.
      await fs.syncDir(dirname(dir));
      names = await fs.readdir(dir);
    }
    const state = await readDataDir(fs, dir, names);
    if (state.identity !== null) checkIdentity(state.identity, identity, `${dir}/${IDENTITY_FILE}`);
    if (state.problems.length > 0) throw problemError(state.problems[0]!);

    // Everything checked: now repair what a crash legitimately leaves behind.
    let recovery: RecoveryReport | null = null;
    let dirChanged = false;
    if (state.torn !== null) {
      const { file, offset, bytes } = state.torn;
      if (offset < SEGMENT_HEADER_BYTES) {
        await fs.unlink(file);
        dirChanged = true;
      } else {
        const handle = await fs.open(file, 'r+');
        try {
          await handle.truncate(offset);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      recovery = { file, offset, bytesDiscarded: bytes };
      logger.warn('cut a torn write off the WAL tail', { ...recovery });
      options.onRecovery?.(recovery);
    }
    for (const name of state.leftovers) {
      await fs.unlink(`${dir}/${name}`);
      dirChanged = true;
    }
    if (dirChanged) await fs.syncDir(dir);

    for (const [k, info] of state.segments.entries()) {
      const last = k === state.segments.length - 1;
      const file = await fs.open(info.path, last ? 'r+' : 'r');
      segments.push(new Segment(info.seq, info.path, file, info.bytes, info.fileBytes));
    }
    // A removed torn segment's number is reused: its file is gone.
    const nextSeq = (state.segments.at(-1)?.seq ?? 0) + 1;
    return new FsStorage({ dir, identity, fs, segmentBytes, logger, recovery }, state, segments, nextSeq);
  } catch (cause) {
    for (const segment of segments) await segment.retire().catch(() => {});
    await releaseLock(fs, dir).catch(() => {});
    throw ioError(dir, 'opening the storage', cause);
  }
}
