/**
 * Crash safety and locking across real processes. Each child runs store-child.ts on this test's own
 * runtime and is killed with SIGKILL by pid: no close, no flush, exactly as in a crash.
 */
import { chmod, stat } from 'node:fs/promises';
import type { Index, Term } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSqliteDataDir, openSqliteStorage } from '../src/index.ts';
import { IDENTITY, payload, snapshotData } from './child/payload.ts';
import { StoreChild } from './child/spawn.ts';
import { dbPath, digest, expectStorageError, fileDigest, membership, tempDir } from './fixtures.ts';

const children: StoreChild[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill()));
});

function start(args: readonly string[], options?: ConstructorParameters<typeof StoreChild>[1]): StoreChild {
  const child = new StoreChild(args, options);
  children.push(child);
  return child;
}

const open = (dir: string) => openSqliteStorage({ dir, identity: IDENTITY });
const ackedIndex = (line: string) => Number(line.split(' ')[1]);

describe('a node killed mid-write', () => {
  it('keeps every acknowledged save, and each save whole or not at all', async () => {
    const dir = await tempDir();
    const batch = 64;
    // Each round kills the writer after a different number of acknowledgements; the writer resumes
    // from the last index each time, so later rounds also cross checkpoints of a larger WAL.
    for (const acks of [3, 17, 40]) {
      const child = start(['saves', dir, String(batch), '2048']);
      // Every line this child prints is an acknowledgement.
      await child.waitFor(() => child.lines.length >= acks);
      await child.kill();
      const acked = Math.max(...child.lines.map(ackedIndex));

      const storage = await open(dir);
      const state = await storage.load();
      const last = storage.lastIndex();
      expect(last).toBeGreaterThanOrEqual(acked);
      // One transaction per save: the log ends on a batch boundary, with that batch's commit index.
      expect(last % batch).toBe(0);
      expect(state.hardState.commitIndex).toBe(last);
      expect(state.entries.map((e) => e.index)).toEqual(Array.from({ length: last }, (_, k) => k + 1));
      for (const e of state.entries) {
        if (digest(e.data) !== digest(payload(e.index, 2048)))
          throw new Error(`entry ${e.index} is not what was saved`);
      }
      await storage.close();
    }
  });

  it('leaves the previous snapshot in force when killed mid-stream', async () => {
    const dir = await tempDir();
    const before = snapshotData(7, 300_000);
    const storage = await open(dir);
    await storage.save({
      entries: Array.from({ length: 10 }, (_, k) => ({
        index: (k + 1) as Index,
        term: 1 as Term,
        type: 'normal' as const,
        data: payload(k + 1, 16),
      })),
    });
    await storage.saveSnapshot({ meta: { index: 5 as Index, term: 1 as Term, membership }, data: before });
    await storage.close();

    const child = start(['stream', dir, '8', '1']);
    // 12 writes of 256 KiB: several 1 MiB chunk rows are committed to the staging area.
    await child.waitFor((line) => line === 'wrote 12');
    await child.kill();

    const report = await checkSqliteDataDir(dir);
    expect(report.problems).toEqual([]);
    expect(report.stagedSnapshots).toBe(1);

    const reopened = await open(dir);
    const state = await reopened.load();
    expect(state.snapshot?.meta.index).toBe(5);
    expect(digest(state.snapshot?.data)).toBe(digest(before));
    expect(state.entries.map((e) => e.index)).toEqual([6, 7, 8, 9, 10]);
    await reopened.close();
    expect((await checkSqliteDataDir(dir)).stagedSnapshots).toBe(0);
  });

  it('has the new snapshot in force once commit resolved, and the log compacted with it', async () => {
    const dir = await tempDir();
    const storage = await open(dir);
    await storage.saveSnapshot({
      meta: { index: 0 as Index, term: 0 as Term, membership },
      data: snapshotData(1, 10),
    });
    await storage.close();

    const child = start(['snapshot', dir, '9', '2', '3', String(3_000_000)]);
    await child.waitFor((line) => line === 'committed');
    await child.kill();

    const reopened = await open(dir);
    const snapshot = await reopened.loadSnapshot();
    expect(snapshot?.meta).toEqual({ index: 9, term: 2, membership });
    expect(digest(snapshot?.data)).toBe(digest(snapshotData(3, 3_000_000)));
    expect(reopened.firstIndex()).toBe(10);
    await reopened.close();
  });
});

describe('one process at a time', () => {
  it('refuses to open, or check, a database another process holds, until that process dies', async () => {
    const dir = await tempDir();
    const child = start(['hold', dir]);
    await child.waitFor((line) => line === 'open');
    await expectStorageError(open(dir), 'Locked');
    await expectStorageError(checkSqliteDataDir(dir), 'Locked');
    await child.kill();
    // The OS drops a dead process's locks: no stale lock file to clean up by hand.
    await (await open(dir)).close();
  });

  it('makes a second process fail with Locked while this one holds the database', async () => {
    const dir = await tempDir();
    const storage = await open(dir);
    const child = start(['open', dir]);
    expect(await child.waitFor((line) => line !== '')).toBe('error Locked');
    await storage.close();
  });
});

describe('the offline check', () => {
  it('reads a crashed node (with its WAL) without changing a byte', async () => {
    const dir = await tempDir();
    const child = start(['saves', dir, '64', '512']);
    await child.waitFor((line) => line === 'acked 640');
    await child.kill();
    const wal = `${dbPath(dir)}-wal`;
    expect((await stat(wal)).size).toBeGreaterThan(0);
    const before = [await fileDigest(dbPath(dir)), await fileDigest(wal)];

    const report = await checkSqliteDataDir(dir);
    expect(report.problems).toEqual([]);
    expect(report.entries.count).toBeGreaterThanOrEqual(640);
    expect(report.hardState?.commitIndex).toBe(report.entries.lastIndex);
    expect([await fileDigest(dbPath(dir)), await fileDigest(wal)]).toEqual(before);
  });
});

describe('a database the process may not write', () => {
  it('fails to open with Io and leaves the file as it was', async () => {
    const dir = await tempDir();
    await (await open(dir)).close();
    await chmod(dbPath(dir), 0o444);
    await chmod(dir, 0o555);
    const before = await fileDigest(dbPath(dir));
    // Root ignores permission bits, so as root the child runs as `nobody` for the bits to bind.
    const asRoot = process.getuid?.() === 0;
    const child = start(
      ['open', dir],
      asRoot ? { uid: 65534, env: { HOME: dir, DENO_DIR: `${dir}/.deno` } } : {},
    );
    try {
      expect(await child.waitFor((line) => line !== '')).toBe('error Io');
    } finally {
      await chmod(dir, 0o755);
    }
    expect(await fileDigest(dbPath(dir))).toBe(before);
  });
});
