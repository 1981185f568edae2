import { mkdir, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isStorageError, type NodeId, type Storage, type StorageIdentity } from '@raftkit/core';
import { sameBytes } from './bytes.ts';
import { BackupError } from './errors.ts';
import { besides, listDir, replaceDir } from './fs-durable.ts';
import { encodeManifest, type Manifest, snapshotOf } from './manifest.ts';
import { writeNewClusterState } from './new-cluster.ts';
import { type ReadLimits, readBackup } from './read-backup.ts';
import type { ByteSource } from './streams.ts';

/** Opens (creating) a concrete store in `dir`: `openFsStorage`, `openSqliteStorage`, or yours. */
export type StorageOpener = (options: {
  readonly dir: string;
  readonly identity: StorageIdentity;
}) => Promise<Storage>;

/** Where and as what a backup is restored. */
export interface RestoreOptions extends ReadLimits {
  /** Opens the archive. Called twice: once to verify it whole, once to restore from it. */
  readonly source: () => ByteSource;
  /** The data directory to create; it must be absent or empty unless `force`. */
  readonly dataDir: string;
  readonly open: StorageOpener;
  /** The restored node's id. Default: the node the backup was taken from. */
  readonly nodeId?: string;
  /** Default: the backup's cluster id. */
  readonly clusterId?: string;
  /**
   * The new cluster's members, id → URL, each restored from the same backup. Default: this node
   * alone, at `url` or the URL the backup records for it.
   */
  readonly members?: Readonly<Record<string, string>>;
  readonly url?: string;
  /** Replace a non-empty `dataDir` (its old log, votes and hard state all go). */
  readonly force?: boolean;
  /** Called with the decompressed bytes read, per pass. */
  readonly onProgress?: (pass: 'verify' | 'restore', bytes: number) => void;
}

/** What a restore made: the backup's manifest, the new node's identity and its cluster's members. */
export interface RestoreResult {
  readonly manifest: Manifest;
  readonly identity: StorageIdentity;
  readonly members: Readonly<Record<string, string>>;
}

/**
 * Restores a backup into a new data directory, as a node of a new cluster of `members` (by
 * default a single member) starting from the backup's state. The archive is verified whole
 * before anything is written; the data is then written into a temporary directory beside
 * `dataDir`, synced, and renamed into place, so a failure or crash never leaves a half-restored
 * `dataDir`. On failure the temporary directory is removed and `dataDir` is as it was.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const limits = options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes };
  const manifest = await readBackup(options.source(), {
    ...limits,
    onProgress: (bytes) => options.onProgress?.('verify', bytes),
  });
  const identity: StorageIdentity = {
    clusterId: options.clusterId ?? manifest.clusterId,
    nodeId: (options.nodeId ?? manifest.nodeId) as NodeId,
  };
  const { meta, urls } = snapshotOf(manifest);
  const url = options.url ?? urls[identity.nodeId];
  const members = options.members ?? (url === undefined ? undefined : { [identity.nodeId]: url });
  if (members === undefined) {
    throw new BackupError(
      'InvalidArgument',
      `the backup records no URL for ${identity.nodeId}: pass its url or the members`,
    );
  }

  const dataDir = resolve(options.dataDir);
  const existing = await listDir(dataDir);
  if (existing !== null && existing.length > 0 && options.force !== true) {
    throw new BackupError(
      'TargetNotEmpty',
      `${dataDir} is not empty (${existing.length} entries); replacing it needs force (the 'force' option, or --force on the command line)`,
    );
  }
  if (existing !== null && existing.length > 0) await refuseIfInUse(options.open, dataDir, identity);
  await mkdir(dirname(dataDir), { recursive: true });
  const temp = besides(dataDir, 'restore');
  await mkdir(temp);
  try {
    const storage = await options.open({ dir: temp, identity });
    try {
      await writeNewClusterState(storage, { ...meta, members }, async (write) => {
        const again = await readBackup(options.source(), {
          ...limits,
          onState: write,
          onProgress: (bytes) => options.onProgress?.('restore', bytes),
        });
        if (!sameBytes(encodeManifest(again), encodeManifest(manifest))) {
          throw new BackupError('ManifestInvalid', 'the archive changed between verifying and restoring it');
        }
      });
    } finally {
      await storage.close();
    }
    await replaceDir(temp, dataDir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { manifest, identity, members };
}

/**
 * `force` replaces a stopped node's directory, never a running one's: the store's own lock says
 * which. Any other failure to open (another node's identity, a corrupt log) is what `force` is
 * for, so only `Locked` refuses.
 */
async function refuseIfInUse(open: StorageOpener, dir: string, identity: StorageIdentity): Promise<void> {
  try {
    await (await open({ dir, identity })).close();
  } catch (error) {
    if (isStorageError(error, 'Locked')) {
      throw new BackupError('TargetNotEmpty', `${dir} is in use by a running node; stop it first`, {
        cause: error,
      });
    }
  }
}
