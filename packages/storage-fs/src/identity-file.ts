import type { StorageIdentity } from '@raftkit/core';
import { nodeId, StorageError } from '@raftkit/core';
import type { FsOps } from './fs-ops.ts';

/**
 * `identity`: which cluster and node own the directory, as JSON with a format version. Written
 * once at bootstrap, atomically (temp file, fsync, rename, directory fsync), never changed.
 */
export const IDENTITY_FILE = 'identity';
export const IDENTITY_TEMP_FILE = 'identity.tmp';
export const FORMAT_VERSION = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export async function writeIdentity(fs: FsOps, dir: string, identity: StorageIdentity): Promise<void> {
  const bytes = encoder.encode(
    `${JSON.stringify({ format: FORMAT_VERSION, clusterId: identity.clusterId, nodeId: identity.nodeId })}\n`,
  );
  const temp = `${dir}/${IDENTITY_TEMP_FILE}`;
  const file = await fs.open(temp, 'w+');
  try {
    await file.write(bytes, 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(temp, `${dir}/${IDENTITY_FILE}`);
  await fs.syncDir(dir);
}

/** Parses the identity file's bytes; a malformed one is `Corrupt`, a newer format `UnsupportedVersion`. */
export function parseIdentity(bytes: Uint8Array, file: string): StorageIdentity {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new StorageError('Corrupt', `${file}: identity file is not valid JSON`, { file, offset: 0, cause });
  }
  const {
    format,
    clusterId,
    nodeId: id,
  } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (typeof format !== 'number') {
    throw new StorageError('Corrupt', `${file}: identity file has no format version`, { file, offset: 0 });
  }
  if (format !== FORMAT_VERSION) {
    throw new StorageError(
      'UnsupportedVersion',
      `${file}: data directory format ${format}, this build reads format ${FORMAT_VERSION}`,
      { file, offset: 0 },
    );
  }
  if (typeof clusterId !== 'string' || typeof id !== 'string') {
    throw new StorageError('Corrupt', `${file}: identity file lacks clusterId or nodeId`, {
      file,
      offset: 0,
    });
  }
  return { clusterId, nodeId: nodeId(id) };
}

export function checkIdentity(found: StorageIdentity, expected: StorageIdentity, file: string): void {
  if (found.clusterId !== expected.clusterId || found.nodeId !== expected.nodeId) {
    throw new StorageError(
      'IdentityMismatch',
      `${file}: this data directory belongs to node "${found.nodeId}" of cluster "${found.clusterId}", ` +
        `not node "${expected.nodeId}" of cluster "${expected.clusterId}"`,
      { file },
    );
  }
}
