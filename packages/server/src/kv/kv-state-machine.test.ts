import { type Entry, index, term } from '@raftkit/core';
import { snapshotBytes } from '@raftkit/node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand, type KvCommand, KvCommandError } from './command.ts';
import { KvStateMachine } from './kv-state-machine.ts';
import { encodeSnapshotChunks } from './snapshot-format.ts';

const utf8 = new TextEncoder();
const text = (s: string) => utf8.encode(s);
let nextIndex = 1;
const entry = (command: KvCommand): Entry => ({
  index: index(nextIndex++),
  term: term(1),
  type: 'normal',
  data: encodeCommand(command),
});
const snapshotOf = (kv: KvStateMachine) => snapshotBytes(kv.snapshot());
const joined = (chunks: readonly Uint8Array[]) =>
  snapshotBytes(
    (async function* () {
      yield* chunks;
    })(),
  );

describe('KvStateMachine', () => {
  it('puts, overwrites and deletes', () => {
    const kv = new KvStateMachine();
    expect(kv.apply(entry({ op: 'put', key: 'a', value: text('1') }))).toBeNull();
    kv.apply(entry({ op: 'put', key: 'a', value: text('2') }));
    expect(kv.get('a')).toEqual(text('2'));
    kv.apply(entry({ op: 'delete', key: 'a' }));
    expect(kv.get('a')).toBeUndefined();
    expect(kv.size).toBe(0);
  });

  it('treats the empty entry of a new leader as a no-op', () => {
    const kv = new KvStateMachine();
    expect(kv.apply({ index: index(1), term: term(2), type: 'normal', data: new Uint8Array() })).toBeNull();
    expect(kv.size).toBe(0);
  });

  it('swaps only when the current value equals the expected one, absent included', () => {
    const kv = new KvStateMachine();
    expect(kv.apply(entry({ op: 'cas', key: 'k', expected: null, value: text('v1') }))).toEqual({
      swapped: true,
    });
    expect(kv.apply(entry({ op: 'cas', key: 'k', expected: null, value: text('v2') }))).toEqual({
      swapped: false,
      current: text('v1'),
    });
    expect(kv.apply(entry({ op: 'cas', key: 'k', expected: text('v0'), value: text('v2') }))).toEqual({
      swapped: false,
      current: text('v1'),
    });
    expect(kv.apply(entry({ op: 'cas', key: 'k', expected: text('v1'), value: null }))).toEqual({
      swapped: true,
    });
    expect(kv.get('k')).toBeUndefined();
    expect(kv.apply(entry({ op: 'cas', key: 'k', expected: text('v1'), value: text('x') }))).toEqual({
      swapped: false,
      current: null,
    });
  });

  it('does not keep a view into the entry it applied', () => {
    const kv = new KvStateMachine();
    const e = entry({ op: 'put', key: 'a', value: text('abc') });
    kv.apply(e);
    e.data.fill(0);
    expect(kv.get('a')).toEqual(text('abc'));
  });

  it('lists keys in order by prefix, page by page', () => {
    const kv = new KvStateMachine();
    for (const key of ['b2', 'a', 'b1', 'b3', 'c']) kv.apply(entry({ op: 'put', key, value: text(key) }));
    expect(kv.list('b', null, 2)).toEqual(['b1', 'b2']);
    expect(kv.list('b', 'b2', 2)).toEqual(['b3']);
    expect(kv.list('', 'a', 10)).toEqual(['b1', 'b2', 'b3', 'c']);
  });

  it('restores a snapshot into an equal map, replacing what was there', async () => {
    const kv = new KvStateMachine();
    for (const key of ['z', 'é', 'a', '😀']) kv.apply(entry({ op: 'put', key, value: text(`v-${key}`) }));
    kv.apply(entry({ op: 'put', key: 'empty', value: new Uint8Array() }));
    const copy = new KvStateMachine();
    copy.apply(entry({ op: 'put', key: 'stale', value: text('x') }));
    copy.restore(await snapshotOf(kv));
    expect(copy.list('', null, 100)).toEqual(kv.list('', null, 100));
    for (const key of kv.list('', null, 100)) expect(copy.get(key)).toEqual(kv.get(key));
    expect(copy.get('stale')).toBeUndefined();
    expect(await snapshotOf(copy)).toEqual(await snapshotOf(kv));
  });

  it('snapshots the state as of the call, whatever applies while the chunks are produced', async () => {
    const kv = new KvStateMachine();
    for (let i = 0; i < 3000; i++) kv.apply(entry({ op: 'put', key: `k${i}`, value: text('x'.repeat(100)) }));
    const expected = await snapshotOf(kv);
    const taken = kv.snapshot();
    kv.apply(entry({ op: 'put', key: 'k1', value: text('changed') }));
    kv.apply(entry({ op: 'delete', key: 'k2' }));
    kv.apply(entry({ op: 'put', key: 'new', value: text('added') }));
    const chunks: Uint8Array[] = [];
    for await (const chunk of taken) {
      chunks.push(chunk);
      kv.apply(entry({ op: 'delete', key: `k${chunks.length + 10}` }));
      kv.restore(await snapshotOf(new KvStateMachine()));
    }
    expect(chunks.length).toBeGreaterThan(3);
    expect(await joined(chunks)).toEqual(expected);
  });

  it('encodes in chunks of about the size asked for that join into the one-piece encoding', async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `key-${String(i).padStart(4, '0')}-é`);
    const values = keys.map((_, i) => text('v'.repeat(i % 300)));
    const sessions = { clock: 7, sessions: [] };
    const whole = [...encodeSnapshotChunks(keys, values, sessions, Number.POSITIVE_INFINITY)];
    const chunks = [...encodeSnapshotChunks(keys, values, sessions, 4096)];
    // The header, then the pairs, then the session table, each on its own.
    expect(whole).toHaveLength(3);
    expect(chunks[0]).toEqual(whole[0]);
    expect(chunks.at(-1)).toEqual(whole[2]);
    const pairs = chunks.slice(1, -1);
    expect(pairs.length).toBeGreaterThan(10);
    // A chunk stops at the first pair that takes it to the size asked for: under it by less than one pair.
    for (const chunk of pairs.slice(0, -1)) expect(chunk.byteLength).toBeGreaterThanOrEqual(4096);
    for (const chunk of pairs) expect(chunk.byteLength).toBeLessThan(4096 + 8 + 20 + 300);
    expect(await joined(chunks)).toEqual(await joined(whole));
  });

  it('restores any keys from a snapshot, ASCII or not, with the byte length each is stored under', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), { maxLength: 20 }),
        async (keys) => {
          const kv = new KvStateMachine();
          for (const key of keys) kv.apply(entry({ op: 'put', key, value: text(`v-${key}`) }));
          const snapshot = await snapshotOf(kv);
          // Header (9), then per pair two lengths and the UTF-8 of key and value, then an empty session table (12).
          const pairBytes = keys.reduce((sum, key) => sum + 8 + 2 * text(key).length + 2, 0);
          expect(snapshot.byteLength).toBe(9 + pairBytes + 12);
          const copy = new KvStateMachine();
          copy.restore(snapshot);
          expect(copy.list('', null, 100)).toEqual(kv.list('', null, 100));
          for (const key of keys) expect(copy.get(key)).toEqual(text(`v-${key}`));
        },
      ),
    );
  });

  it('refuses a damaged snapshot and keeps its state', async () => {
    const kv = new KvStateMachine();
    kv.apply(entry({ op: 'put', key: 'a', value: text('1') }));
    kv.apply(entry({ op: 'put', key: 'b', value: text('2') }));
    const good = await snapshotOf(kv);
    const target = new KvStateMachine();
    target.apply(entry({ op: 'put', key: 'keep', value: text('me') }));
    for (const bad of [
      good.subarray(0, good.length - 1),
      Uint8Array.from([...good, 0]),
      good.map((b, i) => (i === 0 ? 0 : b)),
    ]) {
      expect(() => target.restore(bad)).toThrow(KvCommandError);
    }
    expect(target.get('keep')).toEqual(text('me'));
  });
});
