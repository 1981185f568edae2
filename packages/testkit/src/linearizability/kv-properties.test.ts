import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from './kv-check.ts';
import type { KvEvent, KvOp, KvResult } from './kv-model.ts';
import { findImpossibleObservation } from './kv-refute.ts';

/**
 * Properties against references written apart from the checker: a sequential store (a Map) that
 * produces linearizable histories by construction, and a brute-force checker that tries every
 * order real time allows.
 */

const KEYS = ['x', 'y', 'z'] as const;
const VALUES = ['a', 'b', 'c'] as const;
type Store = ReadonlyMap<string, string>;

/** Applies `op` to `store` as a sequential key-value store would. */
function apply(store: Store, op: KvOp): [KvResult, Store] {
  const current = store.get(op.key) ?? null;
  const set = (value: string | null): Store => {
    const next = new Map(store);
    if (value === null) next.delete(op.key);
    else next.set(op.key, value);
    return next;
  };
  switch (op.kind) {
    case 'put':
      return [{ kind: 'ok' }, set(op.value)];
    case 'delete':
      return [{ kind: 'ok' }, set(null)];
    case 'get':
      return [{ kind: 'value', value: current }, store];
    case 'cas':
      return current === op.expected
        ? [{ kind: 'ok' }, set(op.value)]
        : [{ kind: 'casFailed', current }, store];
  }
}

const sameResult = (a: KvResult, b: KvResult) => JSON.stringify(a) === JSON.stringify(b);

/** Whether `op` answering `result` is possible from `store`, and the store after it. */
function accepts(store: Store, event: KvEvent): [boolean, Store] {
  const [result, next] = apply(store, event.op);
  if (event.result.kind === 'unknown') return [true, next];
  return [sameResult(result, event.result), next];
}

/** Tries every order that respects real time; operations with unknown outcome may be left out. */
function bruteForceLinearizable(history: readonly KvEvent[]): boolean {
  const placed = history.map(() => false);
  const mustPlace = history.filter((event) => event.respondedAt !== null).length;
  const search = (store: Store, count: number): boolean => {
    if (count === mustPlace) return true;
    return history.some((event, i) => {
      if (placed[i]) return false;
      const mustComeFirst = history.some(
        (other, j) =>
          !placed[j] && j !== i && other.respondedAt !== null && other.respondedAt < event.invokedAt,
      );
      if (mustComeFirst) return false;
      const [ok, next] = accepts(store, event);
      if (!ok) return false;
      placed[i] = true;
      const found = search(next, count + (event.respondedAt === null ? 0 : 1));
      placed[i] = false;
      return found;
    });
  };
  return search(new Map(), 0);
}

const opArb: fc.Arbitrary<KvOp> = fc.oneof(
  fc.record({
    kind: fc.constant('put' as const),
    key: fc.constantFrom(...KEYS),
    value: fc.constantFrom(...VALUES),
  }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ kind: fc.constant('get' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ kind: fc.constant('get' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({
    kind: fc.constant('cas' as const),
    key: fc.constantFrom(...KEYS),
    expected: fc.constantFrom(null, ...VALUES),
    value: fc.constantFrom(null, ...VALUES),
  }),
);

/**
 * A sequential execution: operation i takes effect at time 10·(i+1), alone. Its client sees an
 * interval around that instant, so intervals overlap freely yet the history is linearizable.
 */
const executionArb = fc
  .array(
    fc.record({
      op: opArb,
      clientId: fc.nat(7),
      lead: fc.nat(25),
      lag: fc.nat(25),
    }),
    { minLength: 1, maxLength: 80 },
  )
  .map((steps) => {
    let store: Store = new Map();
    return steps.map(({ op, clientId, lead, lag }, i): KvEvent => {
      const [result, next] = apply(store, op);
      store = next;
      const effectAt = 10 * (i + 1);
      return { clientId, op, invokedAt: effectAt - lead, respondedAt: effectAt + lag, result };
    });
  });

const isWrite = (event: KvEvent) => event.op.kind !== 'get';
const key = (event: KvEvent) => event.op.key;

/** The value `event` may leave in its key, or undefined when it cannot change it. */
function mayWrite(event: KvEvent): string | null | undefined {
  const { op, result } = event;
  if (op.kind === 'put') return op.value;
  if (op.kind === 'delete') return null;
  if (op.kind === 'cas' && result.kind !== 'casFailed') return op.value;
  return undefined;
}

/** Whether `event` certainly replaced its key's value with something other than `value`. */
const overwrites = (event: KvEvent, value: string | null) =>
  event.respondedAt !== null && event.result.kind === 'ok' && mayWrite(event) !== value;

/**
 * Values `read` cannot have returned in any linearization: each write that could leave one was
 * invoked after the read ended, or was followed, before the read began, by a completed write of
 * something else. The absent initial state counts as a write of null long before everything.
 */
function impossibleValues(history: readonly KvEvent[], read: KvEvent): (string | null)[] {
  const sameKey = history.filter((event) => key(event) === key(read) && event !== read);
  const overwritten = (endedAt: number, value: string | null) =>
    sameKey.some(
      (other) =>
        overwrites(other, value) &&
        endedAt < other.invokedAt &&
        (other.respondedAt ?? Infinity) < read.invokedAt,
    );
  return [null, ...VALUES, 'never-written'].filter((value) => {
    const writers = sameKey.filter((event) => mayWrite(event) === value);
    const initialGone = value !== null || overwritten(Number.NEGATIVE_INFINITY, null);
    return (
      initialGone &&
      writers.every(
        (writer) =>
          writer.invokedAt > read.respondedAt! ||
          (writer.respondedAt !== null && overwritten(writer.respondedAt, value)),
      )
    );
  });
}

const unknownOutcome = (event: KvEvent): KvEvent => ({
  ...event,
  respondedAt: null,
  result: { kind: 'unknown' },
});

describe('histories linearizable by construction', () => {
  it('are accepted', () => {
    fc.assert(
      fc.property(executionArb, (history) => {
        expect(checkLinearizable(history)).toEqual({ ok: true });
        for (const k of KEYS)
          expect(
            findImpossibleObservation(
              history.filter((e) => key(e) === k),
              null,
            ),
          ).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('are still accepted when some outcomes become unknown', () => {
    fc.assert(
      fc.property(executionArb, fc.infiniteStream(fc.boolean()), (history, flips) => {
        const blurred = history.map((event) => (flips.next().value ? unknownOutcome(event) : event));
        expect(checkLinearizable(blurred)).toEqual({ ok: true });
        for (const k of KEYS)
          expect(
            findImpossibleObservation(
              blurred.filter((e) => key(e) === k),
              null,
            ),
          ).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('are rejected once one read returns a value no write could have left there', () => {
    const mutated = executionArb
      .filter((history) => history.some((event) => !isWrite(event)))
      .chain((history) => {
        const reads = history.filter((event) => !isWrite(event));
        return fc.record({
          history: fc.constant(history),
          read: fc.constantFrom(...reads),
          pick: fc.nat(),
        });
      });
    fc.assert(
      fc.property(mutated, ({ history, read, pick }) => {
        const impossible = impossibleValues(history, read);
        const value = impossible[pick % impossible.length]!;
        const wrong: KvEvent = { ...read, result: { kind: 'value', value } };
        const mutatedHistory = history.map((event) => (event === read ? wrong : event));
        const result = checkLinearizable(mutatedHistory);
        expect(result.ok).toBe(false);
        // The direct refutation used when time runs out catches this shape of violation too.
        const refuted = findImpossibleObservation(
          mutatedHistory.filter((event) => key(event) === key(read)),
          null,
        );
        expect(refuted).toBeDefined();
        expect(checkLinearizable(refuted!.witness).ok).toBe(false);
        if (result.ok !== false) return;
        expect(result.key).toBe(key(read));
        // The witness is part of the mutated history and fails on its own.
        expect(checkLinearizable(result.witness).ok).toBe(false);
        expect(result.witness.every((event) => event === wrong || history.includes(event))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * Small concurrent histories, most answers taken from one real execution (so a good share is
 * linearizable), some replaced by arbitrary answers, some outcomes unknown.
 */
const resultArb: fc.Arbitrary<KvResult> = fc.oneof(
  fc.constant({ kind: 'ok' as const }),
  fc.record({ kind: fc.constant('value' as const), value: fc.constantFrom(null, ...VALUES) }),
  fc.record({ kind: fc.constant('casFailed' as const), current: fc.constantFrom(null, ...VALUES) }),
);

const smallHistoryArb = fc
  .array(
    fc.record({
      op: fc.oneof(
        opArb.filter((op) => op.key !== 'z'),
        opArb.filter((op) => op.key !== 'z' && op.kind === 'get'),
      ),
      clientId: fc.nat(3),
      invokedAt: fc.nat(12),
      duration: fc.nat(6),
      effect: fc.double({ min: 0, max: 1, noNaN: true }),
      unknown: fc.nat(2).map((n) => n === 0),
      arbitraryAnswer: fc.option(resultArb, { freq: 3 }),
    }),
    { minLength: 1, maxLength: 7 },
  )
  .map((ops) => {
    const byEffect = [...ops.keys()].sort(
      (a, b) =>
        ops[a]!.invokedAt +
        ops[a]!.effect * ops[a]!.duration -
        (ops[b]!.invokedAt + ops[b]!.effect * ops[b]!.duration),
    );
    const answers: KvResult[] = [];
    let store: Store = new Map();
    for (const i of byEffect) [answers[i], store] = apply(store, ops[i]!.op);
    return ops.map(({ op, clientId, invokedAt, duration, unknown, arbitraryAnswer }, i): KvEvent => {
      if (unknown) return { clientId, op, invokedAt, respondedAt: null, result: { kind: 'unknown' } };
      const result = arbitraryAnswer ?? answers[i]!;
      const answerable = op.kind === 'get' ? result.kind === 'value' : result.kind !== 'value';
      const fits = answerable && (op.kind === 'cas' || result.kind !== 'casFailed');
      return {
        clientId,
        op,
        invokedAt,
        respondedAt: invokedAt + duration,
        result: fits ? result : answers[i]!,
      };
    });
  });

describe('against a brute-force checker', () => {
  it('agrees on small concurrent histories', () => {
    fc.assert(
      fc.property(smallHistoryArb, (history) => {
        const linearizable = bruteForceLinearizable(history);
        expect(checkLinearizable(history).ok).toBe(linearizable);
        // The direct refutation never accuses a linearizable history.
        const refuted = ['x', 'y'].some((k) =>
          findImpossibleObservation(
            history.filter((e) => key(e) === k),
            null,
          ),
        );
        if (refuted) expect(linearizable).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });
});
