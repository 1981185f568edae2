import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  Entry,
  HardState,
  Membership,
  Snapshot,
  SnapshotMeta,
  Storage,
  StorageErrorKind,
  StorageIdentity,
} from '@raftkit/core';
import { index, nodeId, StorageError, term } from '@raftkit/core';
import * as fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applySnapshot,
  applyWrite,
  emptyModel,
  lastIndex,
  type ModelState,
  snapshotIndex,
  termAt,
} from './storage-model.ts';

/** How the suite opens the backend under test. */
export interface StorageFactory {
  /**
   * Opens the store kept in `dir` (an empty directory the suite created, or one a store was
   * opened on and closed before), creating it with `identity` on first use.
   */
  open(dir: string, identity: StorageIdentity): Promise<Storage>;
}

export interface StorageSuiteOptions {
  /** Runs of the model-based property test; each opens and writes a fresh store. Default 20. */
  readonly propertyRuns?: number;
}

const identity: StorageIdentity = { clusterId: 'cluster-a', nodeId: nodeId('n1') };
const membership: Membership = {
  voters: [nodeId('n1'), nodeId('n2')],
  votersOutgoing: [],
  learners: [nodeId('n3')],
};
const bytes = (...values: number[]) => new Uint8Array(values);

function entry(i: number, t: number, size = 8, type: Entry['type'] = 'normal'): Entry {
  const data = new Uint8Array(size);
  for (let k = 0; k < size; k++) data[k] = (i * 31 + t * 7 + k) & 0xff;
  return { index: index(i), term: term(t), type, data };
}

const run = (from: number, to: number, t: number, size = 8): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, k) => entry(from + k, t, size));

const hard = (t: number, commit: number, vote: string | null = null): HardState => ({
  term: term(t),
  votedFor: vote === null ? null : nodeId(vote),
  commitIndex: index(commit),
});

const meta = (i: number, t: number): SnapshotMeta => ({ index: index(i), term: term(t), membership });
const snapshotOf = (i: number, t: number, data: Uint8Array = bytes(i, t, 42)): Snapshot => ({
  meta: meta(i, t),
  data,
});

async function kindOf(action: () => unknown): Promise<StorageErrorKind | 'no error' | 'not a StorageError'> {
  try {
    await action();
    return 'no error';
  } catch (e) {
    return e instanceof StorageError ? e.kind : 'not a StorageError';
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

const concat = (chunks: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
};

/** Asserts everything a store answers equals the model. */
async function expectMatches(store: Storage, model: ModelState): Promise<void> {
  const loaded = await store.load();
  expect(loaded.hardState).toEqual(model.hardState);
  expect(loaded.snapshot).toEqual(model.snapshot);
  expect(loaded.entries).toEqual(model.entries);
  expect(store.snapshotMeta()).toEqual(model.snapshot?.meta ?? null);
  expect(store.firstIndex()).toBe(snapshotIndex(model) + 1);
  expect(store.lastIndex()).toBe(lastIndex(model));
  for (let i = snapshotIndex(model); i <= lastIndex(model); i++)
    expect(store.term(index(i))).toBe(termAt(model, i));
  const first = snapshotIndex(model) + 1;
  expect(await store.entries(index(first), index(lastIndex(model) + 1))).toEqual(model.entries);
}

/**
 * The `Storage` contract as one suite. Every backend calls it from a small test file:
 * `describeStorage('fs', { open: (dir, identity) => openFsStorage({ dir, identity }) })`.
 */
export function describeStorage(
  name: string,
  factory: StorageFactory,
  options: StorageSuiteOptions = {},
): void {
  describe(`Storage contract: ${name}`, () => {
    const dirs: string[] = [];
    const open: Storage[] = [];

    afterEach(async () => {
      for (const store of open.splice(0)) await store.close();
      for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
    });

    async function freshDir(): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'raftkit-storage-'));
      dirs.push(dir);
      return join(dir, 'data');
    }

    async function openStore(dir: string, who: StorageIdentity = identity): Promise<Storage> {
      const store = await factory.open(dir, who);
      open.push(store);
      return store;
    }

    async function reopen(store: Storage, dir: string): Promise<Storage> {
      await store.close();
      return openStore(dir);
    }

    async function fresh(): Promise<{ store: Storage; dir: string }> {
      const dir = await freshDir();
      return { store: await openStore(dir), dir };
    }

    it('starts empty', async () => {
      const { store } = await fresh();
      expect(store.identity).toEqual(identity);
      await expectMatches(store, emptyModel);
      expect(await store.loadSnapshot()).toBeNull();
      expect(await collect(store.readSnapshot(16))).toEqual([]);
    });

    it('returns after reopening exactly what was written', async () => {
      const { store, dir } = await fresh();
      const entries = [...run(1, 3, 1), entry(4, 2, 0), entry(5, 2, 300, 'config'), ...run(6, 9, 3, 1000)];
      await store.save({ entries: entries.slice(0, 5), hardState: hard(2, 2, 'n2') });
      await store.save({ entries: entries.slice(5) });
      await store.save({ hardState: hard(3, 7, null) });
      const model = applyWrite(applyWrite(emptyModel, { entries, hardState: hard(2, 2, 'n2') }), {
        hardState: hard(3, 7, null),
      });
      await expectMatches(store, model);
      await expectMatches(await reopen(store, dir), model);
    });

    it('replaces a conflicting suffix, then appends after it', async () => {
      const { store, dir } = await fresh();
      await store.save({ entries: run(1, 10, 1), hardState: hard(1, 3) });
      await store.save({ entries: run(6, 8, 2, 20) });
      expect(store.lastIndex()).toBe(8);
      expect(store.term(index(5))).toBe(1);
      expect(store.term(index(6))).toBe(2);
      await store.save({ entries: run(9, 9, 3) });
      const expected = [...run(1, 5, 1), ...run(6, 8, 2, 20), ...run(9, 9, 3)];
      expect(await store.entries(index(1), index(10))).toEqual(expected);
      const again = await reopen(store, dir);
      expect((await again.load()).entries).toEqual(expected);
      expect(again.lastIndex()).toBe(9);
    });

    it('rejects writes that break the log rules and changes nothing', async () => {
      const { store, dir } = await fresh();
      await store.save({ entries: run(1, 5, 2), hardState: hard(2, 3) });
      const before = await store.load();
      const rejected = [
        { entries: run(7, 8, 2) }, // gap after 5
        { entries: [entry(6, 2), entry(8, 2)] }, // not contiguous
        { entries: run(6, 6, 1) }, // term below the entry before
        { entries: run(3, 4, 3) }, // replaces committed entry 3
        { hardState: hard(2, 6) }, // commit past the last index
        { entries: run(6, 6, 2), hardState: hard(2, 7) },
      ];
      for (const write of rejected) expect(await kindOf(() => store.save(write))).toBe('InvalidArgument');
      expect(await store.load()).toEqual(before);
      expect(await (await reopen(store, dir)).load()).toEqual(before);
    });

    it('reads half-open ranges, bounded by maxBytes but never empty', async () => {
      const { store } = await fresh();
      await store.save({ entries: run(1, 10, 1, 100) });
      expect(await store.entries(index(3), index(3))).toEqual([]);
      expect((await store.entries(index(3), index(6))).map((e) => e.index)).toEqual([3, 4, 5]);
      expect((await store.entries(index(1), index(11), 250)).map((e) => e.index)).toEqual([1, 2]);
      expect((await store.entries(index(1), index(11), 300)).map((e) => e.index)).toEqual([1, 2, 3]);
      expect((await store.entries(index(4), index(11), 10)).map((e) => e.index)).toEqual([4]);
      expect((await store.entries(index(4), index(11), 0)).map((e) => e.index)).toEqual([4]);
      expect(await kindOf(() => store.entries(index(10), index(12)))).toBe('Unavailable');
      expect(await kindOf(() => store.entries(index(0), index(2)))).toBe('Compacted');
    });

    it('answers term() from the snapshot index to the last index only', async () => {
      const { store } = await fresh();
      expect(store.term(index(0))).toBe(0);
      expect(await kindOf(() => store.term(index(1)))).toBe('Unavailable');
      await store.save({ entries: run(1, 6, 1), hardState: hard(1, 5) });
      await store.saveSnapshot(snapshotOf(4, 1));
      expect(store.term(index(4))).toBe(1);
      expect(store.term(index(6))).toBe(1);
      expect(await kindOf(() => store.term(index(3)))).toBe('Compacted');
      expect(await kindOf(() => store.term(index(7)))).toBe('Unavailable');
      expect(await kindOf(() => store.entries(index(4), index(6)))).toBe('Compacted');
    });

    it('compacts up to a snapshot that matches an entry, keeping what follows', async () => {
      const { store, dir } = await fresh();
      await store.save({ entries: [...run(1, 5, 1), ...run(6, 9, 2)], hardState: hard(2, 7) });
      const snapshot = snapshotOf(7, 2);
      await store.saveSnapshot(snapshot);
      const model = applySnapshot(
        applyWrite(emptyModel, { entries: [...run(1, 5, 1), ...run(6, 9, 2)], hardState: hard(2, 7) }),
        snapshot,
      );
      expect(model.entries.map((e) => e.index)).toEqual([8, 9]);
      await expectMatches(store, model);
      await expectMatches(await reopen(store, dir), model);
    });

    it('discards the whole log for a snapshot the log disagrees with or does not reach', async () => {
      for (const snapshot of [snapshotOf(4, 3), snapshotOf(12, 3)]) {
        const { store, dir } = await fresh();
        await store.save({ entries: run(1, 8, 1), hardState: hard(1, 2) });
        await store.saveSnapshot(snapshot);
        expect(store.lastIndex()).toBe(snapshot.meta.index);
        expect(store.firstIndex()).toBe(snapshot.meta.index + 1);
        expect(store.term(snapshot.meta.index)).toBe(3);
        await store.save({ entries: run(snapshot.meta.index + 1, snapshot.meta.index + 2, 3) });
        const model = applyWrite(
          applySnapshot(applyWrite(emptyModel, { entries: run(1, 8, 1), hardState: hard(1, 2) }), snapshot),
          {
            entries: run(snapshot.meta.index + 1, snapshot.meta.index + 2, 3),
          },
        );
        await expectMatches(await reopen(store, dir), model);
      }
    });

    it('skips entries a snapshot already covers', async () => {
      const { store } = await fresh();
      await store.saveSnapshot(snapshotOf(5, 2));
      await store.save({ entries: run(3, 7, 2) });
      expect(store.firstIndex()).toBe(6);
      expect((await store.entries(index(6), index(8))).map((e) => e.index)).toEqual([6, 7]);
    });

    it('replaces an older snapshot and refuses to go back to one', async () => {
      const { store, dir } = await fresh();
      await store.save({ entries: run(1, 10, 1), hardState: hard(1, 10) });
      await store.saveSnapshot(snapshotOf(3, 1, bytes(1, 2, 3)));
      await store.saveSnapshot(snapshotOf(6, 1, bytes(4, 5)));
      expect(await kindOf(() => store.saveSnapshot(snapshotOf(5, 1)))).toBe('InvalidArgument');
      expect(await kindOf(() => store.saveSnapshot(snapshotOf(8, 2)))).toBe('InvalidArgument'); // disagrees with commit
      const again = await reopen(store, dir);
      expect(await again.loadSnapshot()).toEqual(snapshotOf(6, 1, bytes(4, 5)));
      expect(again.firstIndex()).toBe(7);
      expect(again.lastIndex()).toBe(10);
    });

    it('streams a snapshot in and out in chunks', async () => {
      const { store, dir } = await fresh();
      await store.save({ entries: run(1, 4, 1), hardState: hard(1, 4) });
      const data = new Uint8Array(100_000).map((_, k) => (k * 7) & 0xff);
      const writer = await store.createSnapshot(meta(3, 1));
      for (let at = 0; at < data.byteLength; at += 8192) await writer.write(data.subarray(at, at + 8192));
      await writer.commit();
      expect(await kindOf(() => writer.write(bytes(1)))).toBe('InvalidArgument');
      const check = async (s: Storage) => {
        expect(s.snapshotMeta()).toEqual(meta(3, 1));
        const chunks = await collect(s.readSnapshot(30_000));
        expect(chunks.map((c) => c.byteLength)).toEqual([30_000, 30_000, 30_000, 10_000]);
        expect(concat(chunks)).toEqual(data);
        expect(s.lastIndex()).toBe(4);
      };
      await check(store);
      await check(await reopen(store, dir));
    });

    it('keeps the previous snapshot when a streamed one is aborted', async () => {
      const { store, dir } = await fresh();
      await store.save({ entries: run(1, 4, 1), hardState: hard(1, 4) });
      await store.saveSnapshot(snapshotOf(2, 1));
      const writer = await store.createSnapshot(meta(4, 1));
      await writer.write(bytes(9, 9, 9));
      await writer.abort();
      await writer.abort();
      expect(await kindOf(() => writer.commit())).toBe('InvalidArgument');
      expect(await store.loadSnapshot()).toEqual(snapshotOf(2, 1));
      expect(store.firstIndex()).toBe(3);
      const again = await reopen(store, dir);
      expect(await again.loadSnapshot()).toEqual(snapshotOf(2, 1));
      expect((await again.load()).entries.map((e) => e.index)).toEqual([3, 4]);
    });

    it('refuses to commit a streamed snapshot that a newer one overtook', async () => {
      const { store, dir } = await fresh();
      await store.save({ entries: run(1, 6, 1), hardState: hard(1, 6) });
      const writer = await store.createSnapshot(meta(3, 1));
      await writer.write(bytes(1, 2));
      await store.saveSnapshot(snapshotOf(5, 1));
      expect(await kindOf(() => writer.commit())).toBe('InvalidArgument');
      expect(await store.loadSnapshot()).toEqual(snapshotOf(5, 1));
      expect(await (await reopen(store, dir)).loadSnapshot()).toEqual(snapshotOf(5, 1));
    });

    it('refuses a directory that belongs to another node or cluster', async () => {
      const { store, dir } = await fresh();
      await store.save({ entries: run(1, 2, 1), hardState: hard(1, 1, 'n1') });
      await store.close();
      for (const other of [
        { clusterId: 'cluster-a', nodeId: nodeId('n2') },
        { clusterId: 'cluster-b', nodeId: nodeId('n1') },
      ]) {
        expect(await kindOf(() => openStore(dir, other))).toBe('IdentityMismatch');
      }
      expect((await (await openStore(dir)).load()).entries).toHaveLength(2);
    });

    it('lets one opener at a time hold a store', async () => {
      const { store, dir } = await fresh();
      expect(await kindOf(() => openStore(dir))).toBe('Locked');
      await store.close();
      const again = await openStore(dir);
      expect(again.lastIndex()).toBe(0);
    });

    it('rejects every call once closed', async () => {
      const { store } = await fresh();
      await store.save({ entries: run(1, 2, 1) });
      const writer = await store.createSnapshot(meta(1, 1));
      await store.close();
      await store.close();
      const calls: (() => unknown)[] = [
        () => store.load(),
        () => store.save({ entries: run(3, 3, 1) }),
        () => store.entries(index(1), index(2)),
        () => store.term(index(1)),
        () => store.firstIndex(),
        () => store.lastIndex(),
        () => store.saveSnapshot(snapshotOf(1, 1)),
        () => store.createSnapshot(meta(1, 1)),
        () => store.snapshotMeta(),
        () => store.loadSnapshot(),
        () => collect(store.readSnapshot(10)),
        () => writer.write(bytes(1)),
        () => writer.commit(),
      ];
      for (const call of calls) expect(await kindOf(call)).toBe('Closed');
    });

    it('agrees with the model after any sequence of valid writes and reopens', async () => {
      const op = fc.oneof(
        fc.record({
          kind: fc.constant('append' as const),
          at: fc.double({ min: 0, max: 1, noNaN: true }),
          count: fc.integer({ min: 1, max: 6 }),
          bump: fc.integer({ min: 0, max: 1 }),
          size: fc.integer({ min: 0, max: 64 }),
        }),
        fc.record({
          kind: fc.constant('hardState' as const),
          commit: fc.double({ min: 0, max: 1, noNaN: true }),
          vote: fc.constantFrom(null, 'n1', 'n2'),
        }),
        fc.record({
          kind: fc.constant('snapshot' as const),
          at: fc.double({ min: 0, max: 1.3, noNaN: true }),
          agree: fc.boolean(),
          size: fc.integer({ min: 0, max: 300 }),
        }),
        fc.constant({ kind: 'reopen' as const }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
          const dir = await freshDir();
          let store = await openStore(dir);
          let model = emptyModel;
          let currentTerm = 1;
          try {
            for (const o of ops) {
              const base = snapshotIndex(model);
              const last = lastIndex(model);
              const commit = model.hardState.commitIndex;
              if (o.kind === 'append') {
                // Start anywhere the contract allows: after the commit index, at most at last + 1.
                const low = Math.max(base, commit) + 1;
                const start = low + Math.floor(o.at * (last + 1 - low + 0.999));
                currentTerm = Math.max(currentTerm, termAt(model, start - 1) ?? 0) + o.bump;
                const write = { entries: run(start, start + o.count - 1, currentTerm, o.size) };
                await store.save(write);
                model = applyWrite(model, write);
              } else if (o.kind === 'hardState') {
                const write = {
                  hardState: hard(currentTerm, commit + Math.floor(o.commit * (last - commit)), o.vote),
                };
                await store.save(write);
                model = applyWrite(model, write);
              } else if (o.kind === 'snapshot') {
                const i = base + Math.floor(o.at * (last - base));
                const known = termAt(model, i);
                const agree = o.agree || i <= commit || known === undefined;
                const t = agree ? (known ?? currentTerm) : known + 1;
                const snapshot = { meta: meta(i, t), data: entry(i, t, o.size).data };
                await store.saveSnapshot(snapshot);
                model = applySnapshot(model, snapshot);
                currentTerm = Math.max(currentTerm, t);
              } else {
                store = await reopen(store, dir);
              }
            }
            await expectMatches(store, model);
            await expectMatches(await reopen(store, dir), model);
          } finally {
            for (const s of open.splice(0)) await s.close();
          }
        }),
        { numRuns: options.propertyRuns ?? 20 },
      );
    });
  });
}
