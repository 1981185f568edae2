import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { PersistedState, Storage } from '@raftkit/core';
import { index } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE } from './dir-lock.ts';
import { type FsStorageOptions, openFsStorage, type RecoveryReport } from './index.ts';
import { scanSegment } from './segment-scan.ts';
import { copyDir, listDir, tempDirs } from './test-support/dirs.ts';
import { CrashError, FaultyFs } from './test-support/faulty-fs.ts';
import { entry, hard, identity, run, snapshot } from './test-support/fixtures.ts';
import { SEGMENT_HEADER_BYTES, segmentName } from './wal-format.ts';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

const SEGMENT_BYTES = 4096;
const open = (dir: string, extra: Partial<FsStorageOptions> = {}) =>
  openFsStorage({ dir, identity, segmentBytes: SEGMENT_BYTES, ...extra });

/** A store with history: several segments, a snapshot, a conflicting suffix replaced. */
async function prepare(): Promise<{ dir: string; before: PersistedState }> {
  const dir = await dirs.make();
  const store = await open(dir);
  for (let i = 1; i <= 40; i += 5)
    await store.save({ entries: run(i, i + 4, 1, 200), hardState: hard(1, i) });
  await store.saveSnapshot(snapshot(12, 1));
  await store.save({ entries: run(38, 41, 2, 100), hardState: hard(2, 38) });
  const before = await store.load();
  await store.close();
  return { dir, before };
}

type Action = (store: Storage) => Promise<unknown>;

const actions: Record<string, Action> = {
  'a hard-state save': (s) => s.save({ hardState: hard(3, 40, 'n2') }),
  'an append with hard state': (s) => s.save({ entries: run(42, 44, 2, 50), hardState: hard(2, 41) }),
  'an append that starts a new segment': (s) => s.save({ entries: run(42, 60, 2, 300) }),
  'a save replacing a conflicting suffix': (s) =>
    s.save({ entries: run(40, 42, 3, 10), hardState: hard(3, 39) }),
  'a snapshot that keeps the log and deletes segments': (s) => s.saveSnapshot(snapshot(36, 1, 5000)),
  'a snapshot the log disagrees with': (s) => s.saveSnapshot(snapshot(41, 5, 300)),
  'a streamed snapshot': async (s) => {
    const writer = await s.createSnapshot(snapshot(39, 1).meta);
    await writer.write(new Uint8Array(3000).fill(7));
    await writer.write(new Uint8Array(3000).fill(8));
    await writer.commit();
  },
};

/** Runs `action` to completion on a copy, returning the state after it and the steps it took. */
async function completed(dir: string, action: Action): Promise<{ after: PersistedState; steps: string[] }> {
  const copy = await dirs.make();
  await copyDir(dir, copy);
  const faulty = new FaultyFs();
  const store = await open(copy, { fs: faulty.fs });
  const from = faulty.steps.length;
  await action(store);
  const steps = faulty.steps.slice(from);
  const after = await store.load();
  await store.close();
  return { after, steps };
}

describe('crash after each step', () => {
  for (const [name, action] of Object.entries(actions)) {
    it(`of ${name} leaves the old or the new state, never a mix`, async () => {
      const { dir, before } = await prepare();
      const { after, steps } = await completed(dir, action);
      expect(after).not.toEqual(before);
      expect(steps.some((s) => /^(data)?sync /.test(s))).toBe(true);
      const outcomes = new Set<string>();
      for (let n = 0; n < steps.length; n++) {
        const copy = await dirs.make();
        await copyDir(dir, copy);
        const faulty = new FaultyFs();
        const store = await open(copy, { fs: faulty.fs });
        faulty.crashAfter(n);
        await expect(action(store)).rejects.toBeDefined();
        await store.close();
        // The process died: its lock dies with it.
        await unlink(join(copy, LOCK_FILE)).catch(() => {});
        const reopened = await open(copy);
        const state = await reopened.load();
        await reopened.close();
        const which = isDeepStrictEqual(state, before) ? 'old' : 'new';
        expect(state).toEqual(which === 'old' ? before : after);
        outcomes.add(`${n}:${which}`);
      }
      // Crashing before the first step keeps the old state; the last fsync made the new one durable.
      expect(outcomes.has('0:old')).toBe(true);
    });
  }

  it('reports the crash to the caller as the injected error', async () => {
    const { dir } = await prepare();
    const faulty = new FaultyFs();
    const store = await open(dir, { fs: faulty.fs });
    faulty.crashAfter(0);
    const error = await store.save({ hardState: hard(3, 40) }).catch((e) => e);
    expect(error.kind).toBe('Io');
    expect(error.cause).toBeInstanceOf(CrashError);
    await store.close();
  });
});

describe('a torn last record', () => {
  for (const [name, room] of [
    ['in the active segment', 400],
    ['that opened a new segment', 60],
  ] as const) {
    it(`${name} is cut back at every offset, and the cut is reported`, async () => {
      const { dir } = await prepare();
      const store = await open(dir);
      // Fill the active segment so that `room` bytes remain: the next save fits, or starts a segment.
      const active = (await listDir(dir)).filter((n) => n.startsWith('wal-')).at(-1)!;
      const filler = SEGMENT_BYTES - room - scanSegment(await readFile(join(dir, active)), true).used - 39;
      await store.save({ entries: [entry(42, 2, filler)] });
      const before = await store.load();
      await store.save({ entries: run(43, 44, 2, 8), hardState: hard(2, 42) });
      await store.close();
      const segments = (await listDir(dir)).filter((n) => n.startsWith('wal-'));
      expect(segments.at(-1) !== active).toBe(room === 60);
      const last = join(dir, segments.at(-1)!);
      const full = await readFile(last);
      // Where whole records end: a cut exactly there leaves a clean file, anywhere else a torn one.
      const scan = scanSegment(full, true);
      const boundaries = [
        SEGMENT_HEADER_BYTES,
        ...scan.frames.map((f) => f.offset + 12 + f.payload.byteLength),
      ];
      const from = segments.at(-1) === active ? scan.frames.at(-1)!.offset : 0;
      for (let cut = from; cut < scan.used; cut++) {
        // The write reached the disk up to `cut`: either the file ends there, or (the space was
        // preallocated) zeros follow. Every cut is tried shortened; every 5th also zero-filled.
        for (const zeroFilled of cut % 5 === 0 ? [false, true] : [false]) {
          const torn = zeroFilled
            ? Buffer.concat([full.subarray(0, cut), new Uint8Array(full.byteLength - cut)])
            : full.subarray(0, cut);
          await writeFile(last, torn);
          const reports: RecoveryReport[] = [];
          const reopened = await open(dir, { onRecovery: (r) => reports.push(r) });
          expect(await reopened.load()).toEqual(before);
          await reopened.close();
          // The last whole record ends at the last boundary up to which the bytes are what was written
          // (zero-filling can recreate a record whose tail was zeros anyway).
          const whole = [0, ...boundaries].filter(
            (b) => b <= torn.byteLength && Buffer.compare(torn.subarray(0, b), full.subarray(0, b)) === 0,
          );
          const wholeUpTo = Math.max(...whole);
          const rest = torn.subarray(wholeUpTo);
          if (rest.every((byte) => byte === 0) && wholeUpTo >= SEGMENT_HEADER_BYTES)
            expect(reports).toEqual([]);
          else expect(reports).toEqual([{ file: last, offset: wholeUpTo, bytesDiscarded: rest.byteLength }]);
        }
      }
      // The file now ends at the last whole record; appending after the cut works.
      const again = await open(dir);
      await again.save({ entries: run(43, 43, 2) });
      expect(await again.entries(index(42), index(44))).toEqual([entry(42, 2, filler), entry(43, 2)]);
      await again.close();
    });
  }

  it('in preallocated space ends where the zeros start, but data after a bad frame is corruption', async () => {
    const dir = await dirs.make();
    const store = await open(dir, { segmentBytes: 1 << 20 });
    for (let i = 1; i <= 6; i += 2) await store.save({ entries: run(i, i + 1, 1, 40) });
    await store.close();
    const path = join(dir, segmentName(1));
    const original = await readFile(path);
    const { used } = scanSegment(original, true);
    expect(original.byteLength).toBeGreaterThan(used);
    const reopened = await open(dir);
    expect([reopened.lastIndex(), reopened.recovery]).toEqual([6, null]);
    await reopened.close();
    // One stray byte far after the data is not a write we made: refuse rather than guess.
    const stray = Uint8Array.from(original);
    stray[used + 100] = 1;
    await writeFile(path, stray);
    expect((await open(dir).catch((e) => e)).kind).toBe('Corrupt');
  });
});

describe('damage before the tail', () => {
  it('fails to open with Corrupt naming the file and offset, for a flip anywhere in a middle frame', async () => {
    const dir = await dirs.make();
    const store = await open(dir, { segmentBytes: 1 << 20 });
    for (let i = 1; i <= 30; i += 3)
      await store.save({ entries: run(i, i + 2, 1, 40), hardState: hard(1, i) });
    await store.close();
    const path = join(dir, segmentName(1));
    const original = await readFile(path);
    const frames = scanSegment(original, true).frames;
    const victim = frames[4]!;
    const end = frames[5]!.offset;
    for (let at = victim.offset; at < end; at += 7) {
      const damaged = Uint8Array.from(original);
      damaged[at]! ^= 0x10;
      await writeFile(path, damaged);
      const error = await open(dir).catch((e) => e);
      expect(error.kind).toBe('Corrupt');
      expect(error.file).toBe(path);
      expect(error.offset).toBe(victim.offset);
      expect(Buffer.compare(await readFile(path), damaged)).toBe(0);
    }
    // A damaged segment header is corruption too.
    const damaged = Uint8Array.from(original);
    damaged[9]! ^= 1;
    await writeFile(path, damaged);
    expect(await open(dir).catch((e) => [e.kind, e.offset])).toEqual(['Corrupt', 0]);
  });

  it('fails to open when the last frame of an older segment is damaged', async () => {
    const { dir } = await prepare();
    const segments = (await listDir(dir)).filter((n) => n.startsWith('wal-'));
    expect(segments.length).toBeGreaterThan(1);
    const path = join(dir, segments[0]!);
    const size = (await stat(path)).size;
    const bytes = await readFile(path);
    bytes[size - 3]! ^= 0xff;
    await writeFile(path, bytes);
    const error = await open(dir).catch((e) => e);
    expect([error.kind, error.file]).toEqual(['Corrupt', path]);
  });
});
