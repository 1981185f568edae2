import { type Entry, index, term } from '@raftkit/core';
import { snapshotBytes } from '@raftkit/node';
import { describe, expect, it } from 'vitest';
import { encodeCommand, type KvCommand, type KvWrite } from './command.ts';
import { KvStateMachine, type KvWriteResult } from './kv-state-machine.ts';
import { MAX_ANSWERS_PER_SESSION, SESSION_TTL_MS, type SessionOutcome } from './sessions.ts';
import { encodeSnapshotChunks } from './snapshot-format.ts';

const utf8 = new TextEncoder();
const text = (s: string) => utf8.encode(s);
const T0 = Date.UTC(2026, 11, 1);

/** A KV replica fed a log one command at a time, the way the driver applies it. */
function replica() {
  const kv = new KvStateMachine();
  let next = 1;
  const apply = (command: KvCommand) => {
    const e: Entry = { index: index(next++), term: term(1), type: 'normal', data: encodeCommand(command) };
    return kv.apply(e);
  };
  const open = (time = T0) => (apply({ op: 'openSession', time }) as { session: number }).session;
  const write = (session: number, seq: number, w: KvWrite, { acked = 1, time = T0 } = {}) =>
    apply({ op: 'session', session, seq, acked, time, write: w }) as SessionOutcome<KvWriteResult>;
  return { kv, apply, open, write };
}

/** Increments counter `key` by compare-and-swap from its current value, as a client would. */
const increment = (kv: KvStateMachine, key: string): KvWrite => {
  const current = kv.get(key);
  const n = current === undefined ? 0 : Number(new TextDecoder().decode(current));
  return { op: 'cas', key, expected: current ?? null, value: text(String(n + 1)) };
};

describe('client sessions (exactly-once writes)', () => {
  it('apply a retried write once and answer the retry with the first outcome', () => {
    const r = replica();
    const s = r.open();
    const first = r.write(s, 1, { op: 'put', key: 'k', value: text('v1') });
    expect(first).toMatchObject({ status: 'applied', result: null });
    // Someone else overwrites; the client's retry of request 1 must not put v1 back.
    r.apply({ op: 'put', key: 'k', value: text('other') });
    const retry = r.write(s, 1, { op: 'put', key: 'k', value: text('v1') });
    expect(retry).toEqual({ status: 'duplicate', index: (first as { index: number }).index, result: null });
    expect(r.kv.get('k')).toEqual(text('other'));
  });

  it('keep a counter exact when every increment is retried', () => {
    const r = replica();
    const s = r.open();
    for (let seq = 1; seq <= 20; seq++) {
      const w = increment(r.kv, 'counter');
      r.write(s, seq, w, { acked: seq });
      // The retry carries the same command bytes: its cas would now fail, but it is not applied.
      expect(r.write(s, seq, w, { acked: seq }).status).toBe('duplicate');
    }
    expect(new TextDecoder().decode(r.kv.get('counter'))).toBe('20');
  });

  it('forget acknowledged answers, and refuse their numbers as stale', () => {
    const r = replica();
    const s = r.open();
    r.write(s, 1, { op: 'put', key: 'a', value: text('1') });
    r.write(s, 2, { op: 'put', key: 'b', value: text('2') }, { acked: 2 });
    expect(r.write(s, 1, { op: 'put', key: 'a', value: text('1') })).toEqual({ status: 'stale' });
    // Answers past the bound are forgotten oldest first, and their numbers refused too.
    for (let seq = 3; seq <= MAX_ANSWERS_PER_SESSION + 3; seq++) r.write(s, seq, { op: 'delete', key: 'x' });
    expect(r.write(s, 3, { op: 'delete', key: 'x' })).toEqual({ status: 'stale' });
    expect(r.write(s, 4, { op: 'delete', key: 'x' }).status).toBe('duplicate');
  });

  it('expire a session unused for the time to live, by the time the log carries', () => {
    const r = replica();
    const idle = r.open(T0);
    const busy = r.open(T0);
    r.write(busy, 1, { op: 'put', key: 'k', value: text('1') }, { time: T0 + SESSION_TTL_MS });
    // Time is the largest stamp seen: a write stamped by a node with a slow clock cannot revive it.
    r.write(busy, 2, { op: 'put', key: 'k', value: text('2') }, { time: T0 + SESSION_TTL_MS + 1 });
    expect(r.write(idle, 1, { op: 'put', key: 'k', value: text('x') }, { time: T0 })).toEqual({
      status: 'expired',
    });
    expect(r.write(12345, 1, { op: 'delete', key: 'k' })).toEqual({ status: 'expired' });
    expect(r.kv.sessionCount).toBe(1);
  });

  it('survive a snapshot: a restored replica still recognizes a retry', async () => {
    const r = replica();
    const s = r.open();
    const first = r.write(s, 1, { op: 'cas', key: 'c', expected: null, value: text('1') });
    r.write(s, 2, { op: 'cas', key: 'c', expected: text('9'), value: text('2') });
    const restored = new KvStateMachine();
    restored.restore(await snapshotBytes(r.kv.snapshot()));
    expect(await snapshotBytes(restored.snapshot())).toEqual(await snapshotBytes(r.kv.snapshot()));
    const again = restored.apply({
      index: index(99),
      term: term(2),
      type: 'normal',
      data: encodeCommand({
        op: 'session',
        session: s,
        seq: 1,
        acked: 1,
        time: T0,
        write: { op: 'delete', key: 'c' },
      }),
    });
    expect(again).toEqual({
      status: 'duplicate',
      index: (first as { index: number }).index,
      result: { swapped: true },
    });
    const mismatch = restored.apply({
      index: index(100),
      term: term(2),
      type: 'normal',
      data: encodeCommand({
        op: 'session',
        session: s,
        seq: 2,
        acked: 1,
        time: T0,
        write: { op: 'delete', key: 'c' },
      }),
    });
    expect(mismatch).toMatchObject({ status: 'duplicate', result: { swapped: false, current: text('1') } });
    expect(restored.get('c')).toEqual(text('1'));
  });

  it('restore a version 1 snapshot (no session table)', () => {
    const v2 = new Uint8Array(
      [...encodeSnapshotChunks(['a'], [text('1')], { clock: 0, sessions: [] })].flatMap((c) => [...c]),
    );
    const v1 = v2.slice(0, v2.length - 12);
    v1[4] = 1;
    const kv = new KvStateMachine();
    kv.restore(v1);
    expect(kv.get('a')).toEqual(text('1'));
    expect(kv.sessionCount).toBe(0);
  });
});
