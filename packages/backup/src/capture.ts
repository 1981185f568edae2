import { open, rm } from 'node:fs/promises';
import type { Storage } from '@raftkit/core';
import { readFileChunks } from './backup-file.ts';
import { isBackupError } from './errors.ts';
import { type BackupSource, snapshotState } from './export.ts';

export interface CapturedSnapshot extends BackupSource {
  /** The state's size in bytes: known once captured, so a backup written from it can show progress. */
  readonly bytes: number;
  /** Removes the captured copy. */
  remove(): Promise<void>;
}

/**
 * Copies the latest snapshot's state out of `storage` into `file`, uncompressed, and returns it
 * as a `BackupSource` to write a backup from at leisure. A node snapshotting while writes go on
 * can replace the snapshot under a long export (`SnapshotChanged`); a plain copy is short, so
 * the race is rare, and it is retried up to `attempts` times with the newer snapshot.
 */
export async function captureSnapshot(
  storage: Storage,
  file: string,
  attempts = 5,
): Promise<CapturedSnapshot> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { meta, urls, state } = snapshotState(storage, 1024 * 1024);
      const handle = await open(file, 'w');
      let bytes = 0;
      try {
        for await (const chunk of state) {
          await handle.write(chunk);
          bytes += chunk.length;
        }
      } finally {
        await handle.close();
      }
      return {
        clusterId: storage.identity.clusterId,
        nodeId: storage.identity.nodeId,
        meta,
        urls: urls(),
        bytes,
        state: readFileChunks(file),
        remove: () => rm(file, { force: true }),
      };
    } catch (error) {
      await rm(file, { force: true });
      if (!isBackupError(error, 'SnapshotChanged') || attempt >= attempts) throw error;
    }
  }
}
