import type { SnapshotMeta, Storage } from '@raftkit/core';
import { unwrapSnapshot } from '@raftkit/node';
import { concatBytes } from './bytes.ts';
import { BackupError } from './errors.ts';
import { gzipChunks } from './gzip.ts';
import {
  backupFolder,
  encodeManifest,
  encodeManifestHash,
  FORMAT_NAME,
  FORMAT_VERSION,
  type JsonValue,
  MANIFEST_FILE,
  MANIFEST_HASH_FILE,
  type Manifest,
  type ManifestFile,
  membersOf,
  stateFileName,
} from './manifest.ts';
import { sha256, sha256Hex } from './sha256.ts';
import { type ByteSource, toReadableStream } from './streams.ts';
import { encodeFileHeader, endOfArchive, padding } from './tar.ts';

/**
 * A state machine's optional hook: describe its state for the manifest (the KV server reports
 * its key count and bytes). It reads the snapshot bytes as they stream, like a hash, so the
 * description is of the state backed up, not of the live state that has moved on meanwhile.
 */
export interface BackupMetadataReader {
  /** The next bytes of the snapshot, in order. */
  update(chunk: Uint8Array): void;
  /** Called once after the last chunk: the description, as JSON for the manifest. */
  digest(): { readonly [key: string]: JsonValue };
}

/** A state machine that can describe its snapshots for a backup's manifest. */
export interface BackupMetadataSource {
  /** A fresh reader for one snapshot; absent when the state machine has nothing to say. */
  backupMetadata?(): BackupMetadataReader;
}

/** A snapshot to back up, from wherever it comes. */
export interface BackupSource {
  readonly clusterId: string;
  readonly nodeId: string;
  readonly meta: SnapshotMeta;
  /** Every member's URL as of the snapshot. */
  readonly urls: Readonly<Record<string, string>>;
  /** The state machine's own snapshot bytes (without the driver's envelope). */
  readonly state: ByteSource;
}

/** How `writeBackup` frames a snapshot into an archive. */
export interface WriteBackupOptions {
  /** Describes the state for the manifest (`backupMetadata()`), when it can. */
  readonly stateMachine?: BackupMetadataSource;
  /** State bytes per archive file, and so the most held in memory at once. Default 4 MiB. */
  readonly chunkBytes?: number;
  /** Called with the state bytes written so far. */
  readonly onProgress?: (bytes: number) => void;
  /** Default: the system clock. */
  readonly now?: () => Date;
}

const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Writes a backup of `source` as a gzip-compressed tar stream. Nothing is read from `source`
 * before the returned stream is read: the state passes through hashing and compression at the
 * consumer's pace.
 */
export function writeBackup(
  source: BackupSource,
  options: WriteBackupOptions = {},
): ReadableStream<Uint8Array> {
  return toReadableStream(gzipChunks(tarChunks(source, options)));
}

async function* tarChunks(source: BackupSource, options: WriteBackupOptions): AsyncGenerator<Uint8Array> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
    throw new BackupError('InvalidArgument', `chunkBytes must be a positive integer, got ${chunkBytes}`);
  }
  const created = (options.now ?? (() => new Date()))();
  const mtime = Math.floor(created.getTime() / 1000);
  const folder = backupFolder(source.clusterId, source.meta.index);
  const metadata = options.stateMachine?.backupMetadata?.() ?? null;
  const files: ManifestFile[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let written = 0;

  function* file(path: string, body: readonly Uint8Array[], size: number): Generator<Uint8Array> {
    yield encodeFileHeader(`${folder}/${path}`, size, mtime);
    yield* body;
    yield padding(size);
  }
  function* flush(): Generator<Uint8Array> {
    const hash = sha256();
    for (const c of pending) hash.update(c);
    const path = stateFileName(files.length);
    files.push({ path, size: pendingBytes, sha256: hash.hex() });
    yield* file(path, pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
  }

  for await (const chunk of source.state as AsyncIterable<Uint8Array>) {
    metadata?.update(chunk);
    for (let at = 0; at < chunk.length; ) {
      const take = Math.min(chunkBytes - pendingBytes, chunk.length - at);
      pending.push(chunk.subarray(at, at + take));
      pendingBytes += take;
      at += take;
      if (pendingBytes === chunkBytes) yield* flush();
    }
    written += chunk.length;
    options.onProgress?.(written);
  }
  if (pendingBytes > 0) yield* flush();

  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    clusterId: source.clusterId,
    nodeId: source.nodeId,
    createdAt: created.toISOString(),
    snapshot: { index: source.meta.index, term: source.meta.term },
    configuration: membersOf(source.meta.membership, source.urls),
    stateMachine: metadata?.digest() ?? null,
    files,
  };
  const manifestBytes = encodeManifest(manifest);
  yield* file(MANIFEST_FILE, [manifestBytes], manifestBytes.length);
  const hashBytes = encodeManifestHash(sha256Hex(manifestBytes));
  yield* file(MANIFEST_HASH_FILE, [hashBytes], hashBytes.length);
  yield endOfArchive();
}

/** `writeBackup`'s options, plus how `exportBackup` reads the snapshot from storage. */
export interface ExportBackupOptions extends WriteBackupOptions {
  /** Bytes per read from storage. Default 1 MiB. */
  readonly readBytes?: number;
}

/**
 * A backup of the latest snapshot in `storage`: committed and applied by construction, so it
 * is consistent while the node keeps writing. If the node stores a newer snapshot before the
 * export has read the old one through, the stream fails with `SnapshotChanged` (a store may
 * have switched files under the read); exporting again reads the newer one.
 */
export function exportBackup(
  storage: Storage,
  options: ExportBackupOptions = {},
): ReadableStream<Uint8Array> {
  const { meta, urls, state } = snapshotState(storage, options.readBytes ?? 1024 * 1024);
  const source: BackupSource = {
    clusterId: storage.identity.clusterId,
    nodeId: storage.identity.nodeId,
    meta,
    // Read once the state has passed, which is when the manifest is written.
    get urls() {
      return urls();
    },
    state,
  };
  return writeBackup(source, options);
}

/**
 * The latest snapshot's metadata, and its state machine bytes as they are read (the driver's
 * envelope taken off; its member URLs available from `urls()` once the state has passed). The
 * state fails with `SnapshotChanged` when a newer snapshot was stored before it was read through.
 */
export function snapshotState(
  storage: Storage,
  readBytes: number,
): { meta: SnapshotMeta; urls: () => Readonly<Record<string, string>>; state: AsyncGenerator<Uint8Array> } {
  const meta = storage.snapshotMeta();
  if (meta === null) throw new BackupError('NoSnapshot', 'the storage holds no snapshot yet');
  let urls: Readonly<Record<string, string>> = {};
  const state = (async function* () {
    yield* stripEnvelope(storage.readSnapshot(readBytes), (found) => {
      urls = found;
    });
    const now = storage.snapshotMeta();
    if (now === null || now.index !== meta.index || now.term !== meta.term) {
      throw new BackupError(
        'SnapshotChanged',
        `a snapshot at ${now?.index} replaced the one at ${meta.index} during the export; export again`,
      );
    }
  })();
  return { meta, urls: () => urls, state };
}

/** Past this the envelope's header is not one the driver wrote (it holds member URLs only). */
const MAX_ENVELOPE_HEADER = 16 * 1024 * 1024;

/**
 * The driver's snapshot data is its envelope (member URLs) then the state machine's bytes. This
 * reads the envelope off the front, hands its URLs over, and passes the rest through untouched.
 */
async function* stripEnvelope(
  data: AsyncIterable<Uint8Array>,
  onUrls: (urls: Readonly<Record<string, string>>) => void,
): AsyncGenerator<Uint8Array> {
  let head: Uint8Array | null = new Uint8Array(0);
  for await (const chunk of data) {
    if (head === null) {
      yield chunk;
      continue;
    }
    head = concatBytes([head, chunk]);
    if (head.length < 8) continue;
    const jsonBytes = new DataView(head.buffer, head.byteOffset).getUint32(4);
    if (jsonBytes > MAX_ENVELOPE_HEADER) {
      throw new BackupError('NotDriverSnapshot', `the snapshot's envelope header claims ${jsonBytes} bytes`);
    }
    if (head.length < 8 + jsonBytes) continue;
    let state: Uint8Array;
    try {
      const envelope = unwrapSnapshot(head);
      onUrls(envelope.urls);
      state = envelope.state;
    } catch (cause) {
      throw new BackupError('NotDriverSnapshot', 'the snapshot data does not carry the driver envelope', {
        cause,
      });
    }
    head = null;
    if (state.length > 0) yield state;
  }
  if (head !== null)
    throw new BackupError('NotDriverSnapshot', 'the snapshot data ends inside the driver envelope');
}
