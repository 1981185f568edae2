import { execFileSync } from 'node:child_process';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FILLER = 'nemesis-filler';
const CHUNK = new Uint8Array(1024 * 1024);

/**
 * A node's data directory on a tmpfs of its own, so the nemesis can fill it: the node's next
 * write fails with ENOSPC, as on a full disk, and the storage sources stay as they ship.
 * Mounting needs root (CAP_SYS_ADMIN); `mountSmallDisk` throws a clear error otherwise.
 */
export function mountSmallDisk(dir: string, bytes: number): () => void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `the disk-full fault mounts a tmpfs per node and needs root: ${String((error as { stderr?: Buffer }).stderr ?? error)}`,
    );
  }
  return () => execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
}

/** Writes a filler file until the disk is full. */
export async function fillDisk(dir: string): Promise<void> {
  const file = await open(join(dir, FILLER), 'w');
  try {
    for (;;) await file.write(CHUNK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await file.close();
  }
}

export function freeDisk(dir: string): Promise<void> {
  return rm(join(dir, FILLER), { force: true });
}

/**
 * The EIO fault: storage-fs's test mode (`RAFTKIT_TEST_IO_FAULT`) fails every write and sync
 * while this control file exists, so creating it breaks the node's disk and removing it heals it.
 */
export function breakDisk(controlFile: string): Promise<void> {
  return writeFile(controlFile, '');
}

export function healDisk(controlFile: string): Promise<void> {
  return rm(controlFile, { force: true });
}
