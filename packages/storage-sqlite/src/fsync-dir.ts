import { open } from 'node:fs/promises';

/**
 * Makes a new directory entry (a created database file) durable. SQLite syncs the directory after
 * creating its WAL, but not after creating the main database file.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
