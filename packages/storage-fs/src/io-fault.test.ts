import { unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StorageError } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFsOps } from './fs-ops.ts';
import { openFsStorage } from './index.ts';
import { failIoOnDemand } from './io-fault.ts';
import { tempDirs } from './test-support/dirs.ts';
import { hard, identity, run } from './test-support/fixtures.ts';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

const errorOf = (promise: Promise<unknown>): Promise<StorageError> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => {
      if (!(error instanceof StorageError)) throw error;
      return error;
    },
  );

/** A data directory and, beside it (never inside), the control file that breaks its disk. */
async function setUp() {
  const dir = await dirs.make();
  const control = join(dirname(dir), 'eio');
  const fs = failIoOnDemand(nodeFsOps, control);
  return {
    dir,
    open: () => openFsStorage({ dir, identity, fs }),
    breakDisk: () => writeFile(control, ''),
    healDisk: () => unlink(control),
  };
}

describe('the EIO test mode', () => {
  it('changes nothing while its control file is absent', async () => {
    const disk = await setUp();
    const store = await disk.open();
    await store.save({ entries: run(1, 5, 1), hardState: hard(1, 5) });
    await store.close();
    const reopened = await disk.open();
    expect((await reopened.load()).entries).toEqual(run(1, 5, 1));
    await reopened.close();
  });

  it('fails the next write with EIO, which closes the store for good and names EIO', async () => {
    const disk = await setUp();
    const store = await disk.open();
    await store.save({ entries: run(1, 5, 1), hardState: hard(1, 3) });
    await disk.breakDisk();
    const failure = await errorOf(store.save({ entries: run(6, 8, 1), hardState: hard(1, 5) }));
    expect(failure.kind).toBe('Io');
    expect((failure.cause as NodeJS.ErrnoException).code).toBe('EIO');
    // What a log line shows is the message: it must say what the disk did.
    expect(failure.message).toMatch(/EIO: i\/o error/);
    // Healing the disk does not revive the store: a failed fsync is never retried.
    await disk.healDisk();
    expect((await errorOf(store.save({ hardState: hard(2, 5) }))).kind).toBe('Closed');
    await store.close();
    // Reopened on the healed disk: everything saved before is there; the failed write wholly or not at all.
    const reopened = await disk.open();
    const state = await reopened.load();
    expect([run(1, 5, 1), run(1, 8, 1)]).toContainEqual(state.entries);
    await reopened.close();
  });

  it('refuses to open while the disk fails, and opens once it is healed', async () => {
    const disk = await setUp();
    const store = await disk.open();
    await store.save({ entries: run(1, 3, 1), hardState: hard(1, 3) });
    await store.close();
    await disk.breakDisk();
    const refused = await errorOf(disk.open());
    expect(refused.message).toMatch(/EIO/);
    await disk.healDisk();
    const reopened = await disk.open();
    expect((await reopened.load()).entries).toEqual(run(1, 3, 1));
    await reopened.close();
  });
});
