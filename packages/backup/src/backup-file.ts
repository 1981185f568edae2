import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from './fs-durable.ts';
import type { Manifest } from './manifest.ts';
import type { ByteSource } from './streams.ts';
import { type VerifyOptions, verifyBackup } from './verify.ts';

const READ_BYTES = 1024 * 1024;

/** A file's bytes in chunks, read as the consumer pulls them. */
export async function* readFileChunks(path: string): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const buffer = new Uint8Array(READ_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** How `saveBackup` writes an archive to a file (verified after writing). */
export interface SaveBackupOptions extends VerifyOptions {
  /** Called with the bytes written so far. */
  readonly onWrite?: (bytes: number) => void;
}

/**
 * Writes a backup stream to `path` durably and verifies what landed on disk before it takes the
 * name: written to `<path>.partial`, fsynced, read back and verified, renamed, directory synced.
 * A failure removes the partial file; `path` appears only as a verified backup. Resolves to its
 * manifest.
 */
export async function saveBackupFile(
  stream: ByteSource,
  path: string,
  options: SaveBackupOptions = {},
): Promise<Manifest> {
  const partial = `${path}.partial`;
  try {
    const handle = await open(partial, 'w');
    try {
      let written = 0;
      for await (const chunk of stream as AsyncIterable<Uint8Array>) {
        await handle.write(chunk);
        written += chunk.length;
        options.onWrite?.(written);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    const manifest = await verifyBackup(readFileChunks(partial), options);
    await rename(partial, path);
    await fsyncDir(dirname(path));
    return manifest;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}
