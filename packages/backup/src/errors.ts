/**
 * Why a backup was refused. Compared by `code`, never by message text; the message names the
 * entry (and where useful the offset) that is wrong.
 */
export type BackupErrorCode =
  /** The gzip framing is wrong: bad header, corrupt deflate data, CRC or length mismatch. */
  | 'Gzip'
  /** The stream ended before the archive did (gzip or tar). */
  | 'Truncated'
  /** Bytes follow the end of the archive (after the tar end marker or the gzip member). */
  | 'TrailingData'
  /** A tar header is malformed: checksum, magic, a numeric field, a PAX record. */
  | 'TarFormat'
  /** An entry is not a plain file (link, device, directory), or its path escapes the backup folder. */
  | 'UnsafeEntry'
  /** The same path appears twice. */
  | 'DuplicateEntry'
  /** The archive holds a file the manifest does not list, or one outside the backup folder. */
  | 'UnlistedEntry'
  /** A file the manifest lists is absent. */
  | 'MissingEntry'
  /** A file's size disagrees with the manifest. */
  | 'SizeMismatch'
  /** A file's SHA-256 disagrees with the manifest (or manifest.json with manifest.sha256). */
  | 'HashMismatch'
  /** manifest.json or manifest.sha256 is not what the format requires. */
  | 'ManifestInvalid'
  /** The manifest's format version is not one this code reads. */
  | 'UnsupportedVersion'
  /** Decompressing would pass the configured limit (a decompression bomb, or a too-small limit). */
  | 'TooLarge'
  /** The storage has no snapshot to export. */
  | 'NoSnapshot'
  /** A newer snapshot replaced the one being exported; exporting again reads the newer one. */
  | 'SnapshotChanged'
  /** The snapshot data does not carry the driver's envelope. */
  | 'NotDriverSnapshot'
  /** Restore target is not empty (pass `force`), or recovery was asked of an empty directory. */
  | 'TargetNotEmpty'
  /** A caller's argument is unusable (no URL for the node, a member list without it, ...). */
  | 'InvalidArgument';

/**
 * Why a backup operation refused or failed; compare `code`, never the message, which names what is
 * wrong (a file, an offset, a size) for a person.
 */
export class BackupError extends Error {
  /** The kind of failure, from a fixed list. */
  readonly code: BackupErrorCode;

  constructor(code: BackupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackupError';
    this.code = code;
  }
}

/** Whether `e` is a `BackupError`, of `code` when one is given. */
export const isBackupError = (e: unknown, code?: BackupErrorCode): e is BackupError =>
  e instanceof BackupError && (code === undefined || e.code === code);
