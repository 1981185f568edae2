import { describe, expect, it } from 'vitest';
import { checkLinearizable } from './kv-check.ts';
import { type KvEvent, renderKvEvent } from './kv-model.ts';

/** Builders for hand-written histories: client, interval, then the operation and its answer. */
type Interval = readonly [invokedAt: number, respondedAt: number | null];
const at = (clientId: number, [invokedAt, respondedAt]: Interval) => ({ clientId, invokedAt, respondedAt });
const done = (interval: Interval) =>
  interval[1] === null ? ({ kind: 'unknown' } as const) : ({ kind: 'ok' } as const);

const put = (c: number, i: Interval, key: string, value: string): KvEvent => ({
  ...at(c, i),
  op: { kind: 'put', key, value },
  result: done(i),
});
const del = (c: number, i: Interval, key: string): KvEvent => ({
  ...at(c, i),
  op: { kind: 'delete', key },
  result: done(i),
});
const get = (c: number, i: Interval, key: string, value: string | null): KvEvent => ({
  ...at(c, i),
  op: { kind: 'get', key },
  result: i[1] === null ? { kind: 'unknown' } : { kind: 'value', value },
});
const cas = (
  c: number,
  i: Interval,
  key: string,
  expected: string | null,
  value: string | null,
  failedWith?: string | null,
): KvEvent => ({
  ...at(c, i),
  op: { kind: 'cas', key, expected, value },
  result: failedWith === undefined ? done(i) : { kind: 'casFailed', current: failedWith },
});

const linearizable = (history: KvEvent[], initial?: Map<string, string>) =>
  checkLinearizable(history, initial === undefined ? {} : { initial }).ok;

describe('sequential histories', () => {
  it('accepts reads of the latest write, of a delete and of the initial state', () => {
    expect(
      linearizable([get(1, [0, 1], 'x', null), put(1, [2, 3], 'x', 'a'), get(2, [4, 5], 'x', 'a')]),
    ).toBe(true);
    expect(linearizable([put(1, [0, 1], 'x', 'a'), del(1, [2, 3], 'x'), get(2, [4, 5], 'x', null)])).toBe(
      true,
    );
    expect(linearizable([get(1, [0, 1], 'x', 'v0')], new Map([['x', 'v0']]))).toBe(true);
  });

  it('rejects a read of a value nobody wrote, or of a deleted value', () => {
    expect(linearizable([get(1, [0, 1], 'x', 'a')])).toBe(false);
    expect(linearizable([get(1, [0, 1], 'x', null)], new Map([['x', 'v0']]))).toBe(false);
    expect(linearizable([put(1, [0, 1], 'x', 'a'), del(1, [2, 3], 'x'), get(2, [4, 5], 'x', 'a')])).toBe(
      false,
    );
  });

  it('checks keys independently and names the failing one', () => {
    const result = checkLinearizable([
      put(1, [0, 1], 'x', 'a'),
      get(2, [2, 3], 'y', 'a'),
      get(2, [2, 3], 'x', 'a'),
    ]);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(result.key).toBe('y');
  });
});

describe('classic violations', () => {
  it('rejects a read that returns a value before its write was invoked', () => {
    expect(linearizable([get(2, [0, 1], 'x', 'a'), put(1, [2, 3], 'x', 'a')])).toBe(false);
    // Touching intervals count as concurrent, so the same read is fine when the write started at its end.
    expect(linearizable([get(2, [0, 1], 'x', 'a'), put(1, [1, 3], 'x', 'a')])).toBe(true);
  });

  it('rejects a stale read after a completed overwrite (the deposed leader)', () => {
    const history = [put(1, [0, 1], 'x', 'a'), put(1, [2, 3], 'x', 'b'), get(2, [4, 5], 'x', 'a')];
    const result = checkLinearizable(history);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.longestPrefix).toEqual(history.slice(0, 2));
    expect(result.stuck).toEqual([history[2]]);
    expect(result.reason).toContain(renderKvEvent(history[2]!));
    // Had the read overlapped the overwrite, the old value would have been fine.
    expect(linearizable([put(1, [0, 1], 'x', 'a'), put(1, [2, 5], 'x', 'b'), get(2, [4, 6], 'x', 'a')])).toBe(
      true,
    );
  });

  it('rejects two reads that see the new value and then the old one', () => {
    const write = put(1, [2, 10], 'x', 'b');
    const first = put(1, [0, 1], 'x', 'a');
    expect(linearizable([first, write, get(2, [3, 4], 'x', 'b'), get(3, [5, 6], 'x', 'a')])).toBe(false);
    // Old then new is what a write in progress looks like.
    expect(linearizable([first, write, get(2, [3, 4], 'x', 'a'), get(3, [5, 6], 'x', 'b')])).toBe(true);
  });
});

describe('concurrent histories', () => {
  it('finds the only order that works, even when it is not the invocation order', () => {
    // Only put b, get b, put a, get a works: the search must not commit to put a first.
    const history = [
      put(1, [0, 10], 'x', 'a'),
      put(2, [0, 10], 'x', 'b'),
      get(3, [1, 3], 'x', 'b'),
      get(4, [11, 12], 'x', 'a'),
    ];
    expect(linearizable(history)).toBe(true);
    expect(linearizable([...history, get(5, [11, 12], 'x', 'b')])).toBe(false);
  });

  it('accepts a read of either concurrent write but not of a third value', () => {
    const writes = [put(1, [0, 5], 'x', 'a'), put(2, [1, 6], 'x', 'b')];
    expect(linearizable([...writes, get(3, [2, 3], 'x', 'a')])).toBe(true);
    expect(linearizable([...writes, get(3, [2, 3], 'x', 'b')])).toBe(true);
    expect(linearizable([...writes, get(3, [2, 3], 'x', 'c')])).toBe(false);
  });
});

describe('compare-and-set', () => {
  const start = put(1, [0, 1], 'x', 'a');

  it('lets only one of two concurrent cas from the same value succeed', () => {
    expect(linearizable([start, cas(2, [2, 5], 'x', 'a', 'b'), cas(3, [2, 5], 'x', 'a', 'c')])).toBe(false);
    expect(linearizable([start, cas(2, [2, 5], 'x', 'a', 'b'), cas(3, [2, 5], 'x', 'a', 'c', 'b')])).toBe(
      true,
    );
  });

  it('rejects a failure that reports the expected value, or a value the key never held', () => {
    expect(linearizable([start, cas(2, [2, 3], 'x', 'a', 'b', 'a')])).toBe(false);
    expect(linearizable([start, cas(2, [2, 3], 'x', 'z', 'b', 'q')])).toBe(false);
    expect(linearizable([start, cas(2, [2, 3], 'x', 'z', 'b', 'a')])).toBe(true);
  });

  it('treats a null expected value as "absent" and a null new value as a delete', () => {
    expect(
      linearizable([
        cas(1, [0, 1], 'x', null, 'a'),
        cas(2, [2, 3], 'x', 'a', null),
        get(3, [4, 5], 'x', null),
      ]),
    ).toBe(true);
    expect(linearizable([cas(1, [0, 4], 'x', null, 'a'), cas(2, [0, 4], 'x', null, 'b')])).toBe(false);
  });
});

describe('unknown outcomes', () => {
  it('assumes an unknown write applied when a later read sees it, even long after the client gave up', () => {
    expect(linearizable([put(1, [0, null], 'x', 'a'), get(2, [5, 6], 'x', 'a')])).toBe(true);
    const late = [put(1, [0, 1], 'x', 'a'), put(2, [2, null], 'x', 'b'), get(3, [3, 4], 'x', 'a')];
    expect(linearizable([...late, get(3, [100, 101], 'x', 'b'), get(4, [102, 103], 'x', 'b')])).toBe(true);
  });

  it('assumes an unknown write never applied when nobody sees it', () => {
    expect(linearizable([put(1, [0, null], 'x', 'a'), get(2, [5, 6], 'x', null)])).toBe(true);
    expect(linearizable([put(1, [0, 1], 'x', 'a'), del(2, [2, null], 'x'), get(3, [5, 6], 'x', 'a')])).toBe(
      true,
    );
  });

  it('still cannot apply an unknown write before it was invoked', () => {
    expect(linearizable([get(2, [0, 1], 'x', 'b'), put(1, [2, null], 'x', 'b')])).toBe(false);
  });

  it('rejects an unknown write that is observed and then unobserved, unless another write explains it', () => {
    const seen = [put(1, [0, null], 'x', 'a'), get(2, [5, 6], 'x', 'a')];
    expect(linearizable([...seen, get(3, [7, 8], 'x', null)])).toBe(false);
    expect(linearizable([...seen, del(4, [1, null], 'x'), get(3, [7, 8], 'x', null)])).toBe(true);
    expect(linearizable([...seen, del(4, [6, 7], 'x'), get(3, [7, 8], 'x', null)])).toBe(true);
  });

  it('applies an unknown cas only where its expected value held', () => {
    const start = [put(1, [0, 1], 'x', 'a'), cas(2, [2, null], 'x', 'a', 'b')];
    expect(linearizable([...start, get(3, [5, 6], 'x', 'b')])).toBe(true);
    expect(linearizable([...start, get(3, [5, 6], 'x', 'a')])).toBe(true);
    expect(
      linearizable([put(1, [0, 1], 'x', 'q'), cas(2, [2, null], 'x', 'a', 'b'), get(3, [5, 6], 'x', 'b')]),
    ).toBe(false);
  });

  it('ignores reads with unknown outcome', () => {
    expect(
      linearizable([get(1, [0, null], 'x', null), put(2, [1, 2], 'x', 'a'), get(3, [3, 4], 'x', 'a')]),
    ).toBe(true);
  });
});

describe('the witness', () => {
  it('is a small part of the history that fails on its own', () => {
    // A stale read buried among operations that play no part in it.
    const noise = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0
        ? put(i % 5, [10 * i, 10 * i + 4], 'x', `v${i}`)
        : get(i % 5, [10 * i, 10 * i + 4], 'x', `v${i - 1}`),
    );
    const stale = get(9, [500, 501], 'x', 'v10');
    const history = [...noise, stale, put(9, [502, 503], 'x', 'w'), get(8, [504, 505], 'x', 'w')];
    const result = checkLinearizable(history);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.witness).toContain(stale);
    expect(result.witness.length).toBeLessThanOrEqual(3);
    expect(result.witness.every((event) => history.includes(event))).toBe(true);
    expect(checkLinearizable(result.witness).ok).toBe(false);
  });

  it('keeps the write a read observed rather than blame the read', () => {
    // Without put a, the read of a would fail alone: a witness that proves nothing about the history.
    const history = [put(1, [0, 1], 'x', 'a'), put(1, [2, 3], 'x', 'b'), get(2, [4, 5], 'x', 'a')];
    const result = checkLinearizable(history);
    expect(result.ok === false && result.witness).toEqual(history);
  });
});

describe('limits', () => {
  // Twenty concurrent writes: a search that must rule out their orders takes far more steps than
  // the first look at the clock, which a zero budget has already run out at.
  const writes = Array.from({ length: 20 }, (_, i) => put(i, [0, 100], 'x', `v${i}`));

  it("answers 'unknown' when the time budget runs out before a violation is found", () => {
    // Once all writes are done the value cannot change, yet two reads see different values.
    const history = [...writes, get(98, [101, 102], 'x', 'v0'), get(99, [101, 102], 'x', 'v1')];
    expect(checkLinearizable(history, { timeoutMs: 0 })).toEqual({ ok: 'unknown', reason: 'timeout' });
  });

  it('still reports a read of a value no write could have left, without the search', () => {
    const read = get(99, [101, 102], 'x', 'nobody');
    const result = checkLinearizable([...writes, read], { timeoutMs: 0 });
    expect(result).toMatchObject({ ok: false, key: 'x', longestPrefix: [], stuck: [read], witness: [read] });
  });

  it('refuses events it cannot interpret', () => {
    expect(() => checkLinearizable([{ ...put(1, [5, 4], 'x', 'a') }])).toThrow(RangeError);
    expect(() =>
      checkLinearizable([{ ...put(1, [0, 1], 'x', 'a'), result: { kind: 'value', value: 'a' } }]),
    ).toThrow(TypeError);
    expect(() => checkLinearizable([{ ...put(1, [0, 1], 'x', 'a'), respondedAt: null }])).toThrow(TypeError);
    expect(() => checkLinearizable([{ ...get(1, [0, 1], 'x', 'a'), result: { kind: 'unknown' } }])).toThrow(
      TypeError,
    );
  });
});

describe('renderKvEvent', () => {
  it('shows client, interval, operation and answer', () => {
    expect(renderKvEvent(cas(3, [7, null], 'k', null, 'v'))).toBe(
      'c3 [7, ?] cas("k", null => "v") -> unknown',
    );
    expect(renderKvEvent(cas(3, [7, 9], 'k', 'a', null, 'b'))).toBe(
      'c3 [7, 9] cas("k", "a" => null) -> failed, current "b"',
    );
    expect(renderKvEvent(get(1, [0, 2], 'k', null))).toBe('c1 [0, 2] get("k") -> null');
  });
});
