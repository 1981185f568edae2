import type { Manifest } from './manifest.ts';
import { type ReadLimits, readBackup } from './read-backup.ts';
import type { ByteSource } from './streams.ts';

/** How `verifyBackup` reads an archive. */
export interface VerifyOptions extends ReadLimits {
  /** Called with the decompressed bytes read so far. */
  readonly onProgress?: (bytes: number) => void;
}

/**
 * Checks a backup without restoring it (read-only): gzip, tar framing, the manifest's own hash,
 * and every file against the manifest. Resolves to the manifest, or rejects with a `BackupError`
 * whose `code` and message name the first thing wrong.
 */
export function verifyBackup(source: ByteSource, options: VerifyOptions = {}): Promise<Manifest> {
  return readBackup(source, options);
}
