import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Temporary directories for one test file, removed by `cleanup()`. */
export function tempDirs() {
  const made: string[] = [];
  return {
    async make(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'raftkit-fs-'));
      made.push(dir);
      return join(dir, 'data');
    },
    async cleanup(): Promise<void> {
      for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Copies a flat directory (a data directory has no subdirectories). */
export async function copyDir(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from)) await writeFile(join(to, name), await readFile(join(from, name)));
}

/** Names in `dir`, sorted, for asserting what is on disk. */
export const listDir = async (dir: string): Promise<string[]> => (await readdir(dir)).sort();
