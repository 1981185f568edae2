import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Directory fsync: a created or renamed entry is durable only once its directory is synced. A
 * failure is thrown, never retried (after a failed fsync the page cache may lie).
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The names in `dir`, or null when it does not exist. */
export async function listDir(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** A fresh name beside `dir` (same parent, so a rename between them never crosses file systems). */
export const besides = (dir: string, what: string): string =>
  join(dirname(dir), `.${basename(dir)}.${what}-${crypto.randomUUID().slice(0, 8)}`);

/**
 * Puts the complete directory `ready` in place of `dir`, durably: an existing `dir` is moved
 * aside first and deleted only after the new one is in place and the parent synced. A crash in
 * between leaves either the old directory, or the complete new one (with the old one beside it,
 * named `.<dir>.replaced-*`), never a mix.
 */
export async function replaceDir(ready: string, dir: string): Promise<void> {
  await fsyncDir(ready);
  const existing = await listDir(dir);
  let aside: string | null = null;
  if (existing !== null) {
    aside = besides(dir, 'replaced');
    await rename(dir, aside);
  }
  await rename(ready, dir);
  await fsyncDir(dirname(dir));
  if (aside !== null) await rm(aside, { recursive: true, force: true });
}
