import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE } from './dir-lock.ts';
import { recordDurableImage, restoreDurableImage } from './durable-image.ts';
import { type FileOps, type FsOps, nodeFsOps } from './fs-ops.ts';
import { openFsStorage } from './index.ts';
import { tempDirs } from './test-support/dirs.ts';
import { hard, identity, run, snapshot } from './test-support/fixtures.ts';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

/** A store bug: it believes its writes durable but never asks for it (every fdatasync skipped). */
const skipDatasync = (inner: FsOps): FsOps => ({
  ...inner,
  async open(path, flags) {
    const file = await inner.open(path, flags);
    return { ...file, datasync: async () => {} };
  },
});

/**
 * The files a dead process still had open: closed by hand after the "power loss", without the
 * store's `close()` (which would write), so no handle is left for the garbage collector.
 */
function openFiles(inner: FsOps): { fs: FsOps; closeAll(): Promise<void> } {
  const files: FileOps[] = [];
  return {
    fs: {
      ...inner,
      async open(path, flags) {
        const file = await inner.open(path, flags);
        files.push(file);
        return file;
      },
    },
    closeAll: async () => {
      await Promise.allSettled(files.map((file) => file.close()));
    },
  };
}

async function writeThenLosePower(fsFor: (dir: string, image: string, inner: FsOps) => FsOps) {
  const dir = await dirs.make();
  const image = `${dir}.image`;
  const raw = openFiles(nodeFsOps);
  const store = await openFsStorage({ dir, identity, segmentBytes: 4096, fs: fsFor(dir, image, raw.fs) });
  for (let i = 1; i <= 60; i += 6)
    await store.save({ entries: run(i, i + 5, 1, 100), hardState: hard(1, i) });
  await store.saveSnapshot(snapshot(20, 1));
  // The process dies here (no close), and the machine loses power.
  restoreDurableImage(dir, image);
  await raw.closeAll();
  const reopened = await openFsStorage({ dir, identity, segmentBytes: 4096 });
  try {
    return { state: await reopened.load(), last: reopened.lastIndex() };
  } finally {
    await reopened.close();
  }
}

describe('the durable image (power-loss test mode)', () => {
  it('keeps everything the store acknowledged: entries across segments, hard state, snapshot', async () => {
    const { state, last } = await writeThenLosePower((dir, image, inner) =>
      recordDurableImage(inner, dir, image),
    );
    expect(last).toBe(60);
    expect(state.hardState).toMatchObject({ term: 1, commitIndex: 55 });
    expect(state.snapshot?.meta.index).toBe(20);
    expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: 40 }, (_, k) => k + 21));
  });

  it('loses what a store never made durable, so a missing fsync shows', async () => {
    // Either acknowledged entries are gone, or what is left is not a log the store accepts.
    const outcome = await writeThenLosePower((dir, image, inner) =>
      skipDatasync(recordDurableImage(inner, dir, image)),
    ).then(
      ({ last }) => `last index ${last}`,
      (error: { kind?: string }) => `refused: ${error.kind}`,
    );
    expect(outcome).not.toBe('last index 60');
    expect(outcome).toMatch(/^last index (\d|[1-5]\d)$|^refused: Corrupt$/);
  });

  it('restores the directory listing of the last directory sync', async () => {
    const dir = await dirs.make();
    const image = join(`${dir}.image`);
    const fs = recordDurableImage(nodeFsOps, dir, image);
    await fs.mkdir(dir);
    const kept = await fs.open(join(dir, 'kept'), 'wx+');
    await kept.write(new TextEncoder().encode('durable'), 0);
    await kept.datasync();
    await kept.close();
    await fs.syncDir(dir);
    const lost = await fs.open(join(dir, 'lost'), 'wx+');
    await lost.write(new TextEncoder().encode('synced, but its name never was'), 0);
    await lost.datasync();
    await lost.close();
    await fs.unlink(join(dir, 'kept'));
    restoreDurableImage(dir, image);
    expect(await nodeFsOps.readdir(dir)).toEqual(['kept']);
    expect(new TextDecoder().decode(await nodeFsOps.readFile(join(dir, 'kept')))).toBe('durable');
  });
});

describe('the durable image across a plain crash', () => {
  it('starts from what the disk holds when a killed process (no power loss) is restarted', async () => {
    const dir = await dirs.make();
    const image = `${dir}.image`;
    const first = openFiles(nodeFsOps);
    const store = await openFsStorage({ dir, identity, fs: recordDurableImage(first.fs, dir, image) });
    await store.save({ entries: run(1, 10, 1, 100), hardState: hard(1, 5) });
    // kill -9: the page cache keeps everything; the next process records on top of it. (Its lock
    // goes with it: in this one test process, by hand.)
    await first.closeAll();
    await unlink(join(dir, LOCK_FILE));
    const second = openFiles(nodeFsOps);
    const restarted = await openFsStorage({ dir, identity, fs: recordDurableImage(second.fs, dir, image) });
    await restarted.save({ entries: run(11, 20, 1, 100), hardState: hard(1, 15) });
    restoreDurableImage(dir, image);
    await second.closeAll();
    const reopened = await openFsStorage({ dir, identity });
    try {
      expect(reopened.lastIndex()).toBe(20);
    } finally {
      await reopened.close();
    }
  });
});
