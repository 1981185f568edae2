import { concatBytes } from './bytes.ts';
import { BackupError } from './errors.ts';
import { gunzipChunks } from './gzip.ts';
import {
  backupFolder,
  MANIFEST_FILE,
  MANIFEST_HASH_FILE,
  type Manifest,
  parseManifest,
  parseManifestHash,
  STATE_FILE,
  stateFileName,
} from './manifest.ts';
import { type Sha256, sha256, sha256Hex } from './sha256.ts';
import type { ByteSource } from './streams.ts';
import { TarReader } from './tar.ts';

/** Bounds on reading an archive that may be hostile. */
export interface ReadLimits {
  /**
   * Refuse an archive that decompresses past this many bytes (a decompression bomb). Default
   * 64 GiB; set it near the size you expect when reading untrusted files.
   */
  readonly maxBytes?: number;
}

export interface ReadBackupOptions extends ReadLimits {
  /** Receives the state bytes, in order, as they pass. They are verified only once the read resolves. */
  readonly onState?: (chunk: Uint8Array) => void | Promise<void>;
  /** Called with the decompressed bytes read so far. */
  readonly onProgress?: (bytes: number) => void;
}

/** The default bound on an archive's decompressed size: 64 GiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;
/** manifest.json lists a line per state file; at 4 MiB per file this allows petabytes. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MAX_MANIFEST_HASH_BYTES = 1024;

interface Seen {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * Reads a whole backup and checks everything the format promises: the gzip framing and
 * trailer, the tar framing, that every entry is a regular file inside the one backup folder,
 * given once, in the format's order, that manifest.sha256 matches manifest.json, and that the
 * manifest lists exactly the files present with their sizes and SHA-256. Resolves to the
 * manifest; rejects with the first `BackupError` found. Memory stays bounded by the chunk sizes.
 */
export async function readBackup(source: ByteSource, options: ReadBackupOptions = {}): Promise<Manifest> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const seen: Seen[] = [];
  const paths = new Set<string>();
  let top: string | null = null;
  let current: {
    path: string;
    size: number;
    got: number;
    hash: Sha256;
    keep: Uint8Array[] | null;
    isState: boolean;
  } | null = null;
  let manifestBytes: Uint8Array | null = null;
  let manifestHashBytes: Uint8Array | null = null;
  let read = 0;

  const reader = new TarReader({
    file(path, size) {
      const [folder, relative] = splitPath(path);
      if (top === null) top = folder;
      else if (folder !== top)
        throw new BackupError(
          'UnlistedEntry',
          `entry ${JSON.stringify(path)} is outside the backup folder ${top}/`,
        );
      if (paths.has(relative))
        throw new BackupError('DuplicateEntry', `entry ${JSON.stringify(path)} appears twice`);
      paths.add(relative);
      const isState = STATE_FILE.test(relative);
      const expected = isState
        ? stateFileName(seen.length)
        : manifestBytes === null
          ? MANIFEST_FILE
          : MANIFEST_HASH_FILE;
      if (!isState && relative !== MANIFEST_FILE && relative !== MANIFEST_HASH_FILE) {
        throw new BackupError('UnlistedEntry', `entry ${JSON.stringify(path)} is not a file of this format`);
      }
      if (relative !== expected || manifestHashBytes !== null) {
        throw new BackupError(
          'ManifestInvalid',
          `entry ${JSON.stringify(path)} is out of order (expected ${expected})`,
        );
      }
      const cap =
        relative === MANIFEST_FILE
          ? MAX_MANIFEST_BYTES
          : relative === MANIFEST_HASH_FILE
            ? MAX_MANIFEST_HASH_BYTES
            : null;
      if (cap !== null && size > cap)
        throw new BackupError('ManifestInvalid', `${relative} is ${size} bytes, more than ${cap}`);
      current = { path: relative, size, got: 0, hash: sha256(), keep: isState ? null : [], isState };
    },
    async data(chunk) {
      const file = current!;
      file.got += chunk.length;
      file.hash.update(chunk);
      if (file.keep !== null) file.keep.push(chunk.slice());
      else if (options.onState !== undefined) await options.onState(chunk);
    },
    fileEnd() {
      const file = current!;
      current = null;
      if (file.isState) {
        seen.push({ path: file.path, size: file.size, sha256: file.hash.hex() });
        return;
      }
      const bytes = concatBytes(file.keep!);
      if (file.path === MANIFEST_FILE) manifestBytes = bytes;
      else manifestHashBytes = bytes;
    },
  });

  for await (const chunk of gunzipChunks(source as AsyncIterable<Uint8Array>, { maxBytes })) {
    await reader.write(chunk);
    read += chunk.length;
    options.onProgress?.(read);
  }
  reader.end();
  if (manifestBytes === null) throw new BackupError('MissingEntry', `the archive has no ${MANIFEST_FILE}`);
  if (manifestHashBytes === null)
    throw new BackupError('MissingEntry', `the archive has no ${MANIFEST_HASH_FILE}`);
  const recorded = parseManifestHash(manifestHashBytes);
  if (sha256Hex(manifestBytes) !== recorded) {
    throw new BackupError(
      'HashMismatch',
      `${MANIFEST_FILE} does not match ${MANIFEST_HASH_FILE}: the manifest was edited or is corrupt`,
    );
  }
  const manifest = parseManifest(manifestBytes);
  const folder = backupFolder(manifest.clusterId, manifest.snapshot.index);
  if (top !== folder)
    throw new BackupError(
      'ManifestInvalid',
      `the backup folder is ${JSON.stringify(top)}, the manifest names ${folder}`,
    );
  checkFiles(manifest, seen);
  return manifest;
}

function checkFiles(manifest: Manifest, seen: readonly Seen[]): void {
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  if (listed.size !== manifest.files.length)
    throw new BackupError('ManifestInvalid', `${MANIFEST_FILE} lists a file twice`);
  for (const file of seen) {
    const entry = listed.get(file.path);
    if (entry === undefined)
      throw new BackupError('UnlistedEntry', `${file.path} is in the archive but not in ${MANIFEST_FILE}`);
    if (entry.size !== file.size) {
      throw new BackupError(
        'SizeMismatch',
        `${file.path} is ${file.size} bytes; ${MANIFEST_FILE} says ${entry.size}`,
      );
    }
    if (entry.sha256 !== file.sha256)
      throw new BackupError('HashMismatch', `${file.path} does not match its SHA-256 in ${MANIFEST_FILE}`);
    listed.delete(file.path);
  }
  const missing = listed.keys().next();
  if (missing.done !== true)
    throw new BackupError(
      'MissingEntry',
      `${missing.value} is listed in ${MANIFEST_FILE} but not in the archive`,
    );
}

/**
 * Splits `<folder>/<relative>` and refuses any path that could land outside the backup folder
 * when extracted by a tool: absolute, `..` or `.` components, empty components, backslashes, NUL.
 */
function splitPath(path: string): [string, string] {
  const unsafe = (why: string) => new BackupError('UnsafeEntry', `entry ${JSON.stringify(path)}: ${why}`);
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw unsafe('absolute path');
  if (path.includes('\\') || path.includes('\u0000')) throw unsafe('backslash or NUL in the path');
  const parts = path.split('/');
  if (parts.some((p) => p === '..' || p === '.')) throw unsafe('path traversal');
  if (parts.length < 2 || parts.some((p) => p === '')) throw unsafe('not <backup folder>/<file>');
  return [parts[0]!, parts.slice(1).join('/')];
}
