import { type Entry, index, term } from '@raftkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand, type KvCommand, KvCommandError } from './command.ts';
import { KvStateMachine } from './kv-state-machine.ts';

const utf8 = new TextEncoder();
const text = (s: string) => utf8.encode(s);
let nextIndex = 1;
const entry = (command: KvCommand): Entry => ({
  index: index(nextIndex++),
  term: term(1),
  type: 'normal',
  data: encodeCommand(command),
});

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

  it('restores a snapshot into an equal map, replacing what was there', () => {
    const kv = new KvStateMachine();
    for (const key of ['z', 'é', 'a', '😀']) kv.apply(entry({ op: 'put', key, value: text(`v-${key}`) }));
    kv.apply(entry({ op: 'put', key: 'empty', value: new Uint8Array() }));
    const copy = new KvStateMachine();
    copy.apply(entry({ op: 'put', key: 'stale', value: text('x') }));
    copy.restore(kv.snapshot());
    expect(copy.list('', null, 100)).toEqual(kv.list('', null, 100));
    for (const key of kv.list('', null, 100)) expect(copy.get(key)).toEqual(kv.get(key));
    expect(copy.get('stale')).toBeUndefined();
    expect(copy.snapshot()).toEqual(kv.snapshot());
  });

  it('restores any keys from a snapshot, ASCII or not, with the byte length each is stored under', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), { maxLength: 20 }),
        (keys) => {
          const kv = new KvStateMachine();
          for (const key of keys) kv.apply(entry({ op: 'put', key, value: text(`v-${key}`) }));
          const snapshot = kv.snapshot();
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

  it('refuses a damaged snapshot and keeps its state', () => {
    const kv = new KvStateMachine();
    kv.apply(entry({ op: 'put', key: 'a', value: text('1') }));
    kv.apply(entry({ op: 'put', key: 'b', value: text('2') }));
    const good = kv.snapshot();
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
