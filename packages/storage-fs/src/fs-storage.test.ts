import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, HardState, Logger } from '@raftkit/core';
import { index, nodeId, StorageError } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.ts';
import { LOCK_FILE } from './dir-lock.ts';
import { type FsOps, nodeFsOps } from './fs-ops.ts';
import { IDENTITY_FILE, writeIdentity } from './identity-file.ts';
import { type FsStorageOptions, openFsStorage } from './index.ts';
import { scanSegment } from './segment-scan.ts';
import { SNAPSHOT_FILE } from './snapshot-file.ts';
import { listDir, tempDirs } from './test-support/dirs.ts';
import { FaultyFs } from './test-support/faulty-fs.ts';
import { entry, hard, identity, run, snapshot } from './test-support/fixtures.ts';
import { encodeBatchFrame, encodeMarkerFrame, encodeSegmentHeader, segmentName } from './wal-format.ts';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

const open = (dir: string, extra: Partial<FsStorageOptions> = {}) =>
  openFsStorage({ dir, identity, ...extra });
const errorOf = (promise: Promise<unknown>): Promise<StorageError> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e) => e as StorageError,
  );
const segments = async (dir: string) => (await listDir(dir)).filter((n) => n.startsWith('wal-'));

describe('writes', () => {
  it('commit a whole Ready with one write and one fsync', async () => {
    const faulty = new FaultyFs();
    const store = await open(await dirs.make(), { fs: faulty.fs });
    await store.save({ entries: run(1, 1, 1) }); // creates the first segment
    const from = faulty.steps.length;
    await store.save({ entries: run(2, 101, 1, 128), hardState: hard(1, 50) });
    expect(faulty.steps.slice(from).map((s) => s.split(' ')[0])).toEqual(['write', 'datasync']);
    await store.close();
  });

  it('make a new segment durable: file written and fsynced, then the directory', async () => {
    const faulty = new FaultyFs();
    const dir = await dirs.make();
    const store = await open(dir, { fs: faulty.fs, segmentBytes: 4096 });
    await store.save({ entries: run(1, 1, 1, 3000) });
    const from = faulty.steps.length;
    await store.save({ entries: run(2, 2, 1, 3000) });
    expect(faulty.steps.slice(from).map((s) => s.replace(/ \d+@\d+$/, ''))).toEqual([
      // header, the lead hard-state frame, the one batch frame
      `truncate ${segmentName(1)} ${20 + 44 + (12 + 2 + 12 + 13 + 3000)}`,
      `datasync ${segmentName(1)}`,
      `create ${segmentName(2)}`,
      `write ${segmentName(2)}`,
      `sync ${segmentName(2)}`,
      'syncDir data',
    ]);
    await store.close();
  });

  it('install a snapshot by temp file, fsync, rename and directory fsync before touching the log', async () => {
    const faulty = new FaultyFs();
    const dir = await dirs.make();
    const store = await open(dir, { fs: faulty.fs, segmentBytes: 4096 });
    for (let i = 1; i <= 12; i += 3)
      await store.save({ entries: run(i, i + 2, 1, 1000), hardState: hard(1, i) });
    expect(await segments(dir)).toHaveLength(4);
    const from = faulty.steps.length;
    await store.saveSnapshot(snapshot(7, 1));
    const steps = faulty.steps
      .slice(from)
      .map((s) => s.replace(/ \d+@\d+$/, '').replace(/snapshot\.\d+\.tmp/, 'tmp'));
    expect(steps).toEqual([
      'create tmp',
      'write tmp',
      'write tmp',
      'write tmp',
      'sync tmp',
      `rename tmp -> ${SNAPSHOT_FILE}`,
      'syncDir data',
      `write ${segmentName(4)}`,
      `datasync ${segmentName(4)}`,
      `unlink ${segmentName(1)}`,
      `unlink ${segmentName(2)}`,
      'syncDir data',
    ]);
    // Entries 8..12 live in segments 3 and 4: compaction never deletes entries above the snapshot.
    expect(await segments(dir)).toEqual([segmentName(3), segmentName(4)]);
    expect((await store.entries(index(8), index(13))).map((e) => e.index)).toEqual([8, 9, 10, 11, 12]);
    await store.close();
    const reopened = await open(dir);
    expect((await reopened.load()).entries.map((e) => e.index)).toEqual([8, 9, 10, 11, 12]);
    await reopened.close();
  });

  it('read ranges that span segments', async () => {
    const dir = await dirs.make();
    const store = await open(dir, { segmentBytes: 4096 });
    const written: Entry[] = [];
    for (let i = 1; i <= 60; i += 4) {
      const batch = run(i, i + 3, 1, 300);
      written.push(...batch);
      await store.save({ entries: batch });
    }
    expect((await segments(dir)).length).toBeGreaterThan(4);
    expect(await store.entries(index(3), index(58))).toEqual(written.slice(2, 57));
    await store.close();
  });
});

describe('reads racing compaction', () => {
  it('finish from a segment that compaction deleted meanwhile', async () => {
    // Reads of segment 1 wait for a gate, so the compaction deleting it surely runs in between.
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let gated = false;
    const fs: FsOps = {
      ...nodeFsOps,
      open: async (path, flags) => {
        const file = await nodeFsOps.open(path, flags);
        if (!path.endsWith(segmentName(1))) return file;
        return {
          ...file,
          read: async (buffer, position) => {
            if (gated) await gate;
            return file.read(buffer, position);
          },
        };
      },
    };
    const dir = await dirs.make();
    const store = await open(dir, { fs, segmentBytes: 4096 });
    const written: Entry[] = [];
    for (let i = 1; i <= 12; i += 3) {
      written.push(...run(i, i + 2, 1, 1000));
      await store.save({ entries: run(i, i + 2, 1, 1000), hardState: hard(1, i + 2) });
    }
    gated = true;
    const reading = store.entries(index(1), index(4));
    await store.saveSnapshot(snapshot(9, 1));
    expect(await segments(dir)).not.toContain(segmentName(1));
    openGate();
    expect(await reading).toEqual(written.slice(0, 3));
    await store.close();
  });
});

describe('a failed write or fsync', () => {
  for (const [code, step] of [
    ['ENOSPC', 1],
    ['EIO', 2],
  ] as const) {
    it(`(${code} on step ${step}) closes the store for good and loses nothing written before`, async () => {
      const dir = await dirs.make();
      const faulty = new FaultyFs();
      const store = await open(dir, { fs: faulty.fs });
      await store.save({ entries: run(1, 5, 1), hardState: hard(1, 3) });
      const before = await store.load();
      faulty.failStep(step, code);
      const failure = await errorOf(store.save({ entries: run(6, 8, 1) }));
      expect(failure.kind).toBe('Io');
      expect((failure.cause as { code: string }).code).toBe(code);
      const later = await errorOf(store.save({ hardState: hard(2, 3) }));
      expect(later.kind).toBe('Closed');
      expect(later.cause).toBe(failure);
      expect(() => store.lastIndex()).toThrow(StorageError);
      await store.close();
      // The lock went with the failed store. Everything acknowledged before is there; the failed
      // write is wholly there or wholly absent (a failed fsync says nothing about which).
      expect(await listDir(dir)).not.toContain(LOCK_FILE);
      const reopened = await open(dir);
      const state = await reopened.load();
      expect([before.entries, [...before.entries, ...run(6, 8, 1)]]).toContainEqual(state.entries);
      expect(state.hardState).toEqual(before.hardState);
      await reopened.close();
    });
  }
});

describe('opening', () => {
  it('refuses a directory that is not a raftkit data directory, and leaves it alone', async () => {
    const dir = await dirs.make();
    await nodeFsOps.mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'hello');
    const error = await errorOf(open(dir));
    expect(error.kind).toBe('IdentityMismatch');
    expect(await listDir(dir)).toEqual(['notes.txt']);
  });

  it('names the identity mismatch even while the owner has the directory open', async () => {
    const dir = await dirs.make();
    const owner = await open(dir);
    const error = await errorOf(openFsStorage({ dir, identity: { clusterId: 'c1', nodeId: nodeId('n9') } }));
    expect(error.kind).toBe('IdentityMismatch');
    expect(error.message).toContain('n9');
    await owner.close();
  });

  it('refuses a read-only disk with Io and writes nothing', async () => {
    const dir = await dirs.make();
    const faulty = new FaultyFs();
    faulty.failStep(1, 'EROFS');
    const error = await errorOf(open(dir, { fs: faulty.fs }));
    expect(error.kind).toBe('Io');
    expect((error.cause as { code: string }).code).toBe('EROFS');
    expect(await listDir(dir)).toEqual([]);
  });

  it('refuses another format version of the identity file or of a segment', async () => {
    const dir = await dirs.make();
    const store = await open(dir);
    await store.save({ entries: run(1, 2, 1) });
    await store.close();
    const segment = join(dir, segmentName(1));
    const original = await readFile(segment);
    const future = Uint8Array.from(original);
    new DataView(future.buffer).setUint16(4, 2, true);
    new DataView(future.buffer).setUint32(16, crc32c(future.subarray(0, 16)), true);
    await writeFile(segment, future);
    expect(await errorOf(open(dir))).toMatchObject({ kind: 'UnsupportedVersion', file: segment, offset: 0 });
    await writeFile(segment, original);
    const identityFile = join(dir, IDENTITY_FILE);
    const text = await readFile(identityFile, 'utf8');
    await writeFile(identityFile, text.replace('"format":1', '"format":2'));
    expect(await errorOf(open(dir))).toMatchObject({ kind: 'UnsupportedVersion', file: identityFile });
  });

  it('fails when a segment, the snapshot file or the identity file is missing', async () => {
    const dir = await dirs.make();
    const store = await open(dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 12; i += 3) await store.save({ entries: run(i, i + 2, 1, 1000) });
    await store.close();
    await unlink(join(dir, segmentName(2)));
    expect(await errorOf(open(dir))).toMatchObject({ kind: 'Corrupt', file: join(dir, segmentName(2)) });

    const other = await dirs.make();
    const second = await open(other);
    await second.save({ entries: run(1, 4, 1), hardState: hard(1, 4) });
    await second.saveSnapshot(snapshot(2, 1));
    await second.close();
    await unlink(join(other, SNAPSHOT_FILE));
    expect(await errorOf(open(other))).toMatchObject({ kind: 'Corrupt', file: join(other, SNAPSHOT_FILE) });

    // Without its identity file the directory is not adopted as a fresh one.
    await unlink(join(dir, IDENTITY_FILE));
    const before = await listDir(dir);
    expect(await errorOf(open(dir))).toMatchObject({ kind: 'Corrupt', file: join(dir, IDENTITY_FILE) });
    expect(await listDir(dir)).toEqual(before);
  });

  it('removes temp files an interrupted write left, and reports a cut tail to the logger', async () => {
    const dir = await dirs.make();
    const store = await open(dir);
    await store.save({ entries: run(1, 3, 1) });
    await store.close();
    await writeFile(join(dir, 'snapshot.7.tmp'), 'half a snapshot');
    const segment = join(dir, segmentName(1));
    const bytes = await readFile(segment);
    bytes.set([1, 2, 3], scanSegment(bytes, true).used);
    await writeFile(segment, bytes);
    const warnings: unknown[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (message, fields) => warnings.push({ message, fields }),
      error() {},
    };
    const reopened = await open(dir, { logger });
    expect(await listDir(dir)).not.toContain('snapshot.7.tmp');
    expect(reopened.recovery).toMatchObject({ file: segment, offset: scanSegment(bytes, true).used });
    expect(warnings).toEqual([
      { message: expect.stringContaining('torn'), fields: expect.objectContaining({ file: segment }) },
    ]);
    await reopened.close();
  });
});

describe('consistency checks on open', () => {
  /** Writes a data directory by hand: identity plus one segment holding `frames`. */
  async function craft(frames: Uint8Array[]): Promise<{ dir: string; offsets: number[] }> {
    const dir = await dirs.make();
    await nodeFsOps.mkdir(dir);
    await writeIdentity(nodeFsOps, dir, identity);
    const offsets: number[] = [];
    let at = 20;
    for (const frame of frames) {
      offsets.push(at);
      at += frame.byteLength;
    }
    await writeFile(join(dir, segmentName(1)), Buffer.concat([encodeSegmentHeader(1), ...frames]));
    return { dir, offsets };
  }
  const batch = (entries: Entry[], hardState: HardState | null = null) =>
    encodeBatchFrame(hardState, entries).bytes;

  const cases: [string, Uint8Array[], number, RegExp][] = [
    ['a term going down', [batch([entry(1, 2), entry(2, 1)])], 0, /term goes down/],
    ['a gap between batches', [batch(run(1, 3, 1)), batch(run(5, 6, 1))], 1, /gap/],
    ['a committed entry replaced', [batch(run(1, 5, 1), hard(1, 4)), batch(run(3, 3, 2))], 1, /committed/],
    ['a commit index past the last entry', [batch(run(1, 3, 1), hard(1, 5))], 0, /commit index 5/],
    ['a log that does not start at 1 without a snapshot', [batch(run(3, 4, 1))], -1, /missing/],
    [
      'a snapshot marker without its snapshot file',
      [batch(run(1, 3, 1)), encodeMarkerFrame(2, 1, true)],
      -1,
      /missing/,
    ],
  ];
  for (const [name, frames, frameIndex, message] of cases) {
    it(`rejects ${name} as Corrupt, naming where`, async () => {
      const { dir, offsets } = await craft(frames);
      const before = await listDir(dir);
      const error = await errorOf(open(dir));
      expect(error.kind).toBe('Corrupt');
      expect(error.message).toMatch(message);
      if (frameIndex >= 0)
        expect([error.file, error.offset]).toEqual([join(dir, segmentName(1)), offsets[frameIndex]]);
      expect(await listDir(dir)).toEqual(before);
    });
  }

  it('accepts the same directory written by the store itself', async () => {
    const { dir } = await craft([
      batch(run(1, 3, 1), hard(1, 2, null)),
      batch(run(3, 4, 2), hard(2, 2, 'n2')),
    ]);
    const store = await open(dir);
    expect(await store.load()).toEqual({
      hardState: { term: 2, votedFor: nodeId('n2'), commitIndex: 2 },
      snapshot: null,
      entries: [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)],
    });
    await store.close();
  });
});
