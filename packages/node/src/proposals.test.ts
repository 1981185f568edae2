import { type Entry, type Index, index, type Term, term } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { isRaftNodeError } from './errors.ts';
import { PendingProposals } from './proposals.ts';

const entry = (i: number, t: number): Entry => ({
  index: index(i),
  term: term(t),
  type: 'normal',
  data: new Uint8Array([1]),
});

/** Records how each promise settled, without awaiting (settling is synchronous in these tests' eyes). */
function outcome(p: Promise<unknown>): { value?: unknown; error?: unknown } {
  const seen: { value?: unknown; error?: unknown } = {};
  p.then(
    (value) => (seen.value = value),
    (error: unknown) => (seen.error = error),
  );
  return seen;
}

const flush = () => new Promise((go) => setTimeout(go, 0));

describe('pending proposals', () => {
  const add = (pending: PendingProposals, i: number, t: number, deadline = 100) =>
    outcome(pending.add(i as Index, t as Term, deadline));

  it('resolves with the result of the entry of the same index and term', async () => {
    const pending = new PendingProposals(10, () => {});
    const seen = add(pending, 5, 2);
    pending.applied(entry(5, 2), 'ok');
    await flush();
    expect(seen.value).toEqual({ index: 5, result: 'ok' });
  });

  it('rejects Dropped when another term’s entry is appended or applied at its index', async () => {
    let failed = 0;
    const pending = new PendingProposals(10, () => failed++);
    const overwritten = add(pending, 5, 2);
    const appliedOther = add(pending, 6, 2);
    pending.appended(entry(5, 3));
    pending.applied(entry(6, 3), 'someone else’s result');
    await flush();
    expect(isRaftNodeError(overwritten.error, 'Dropped')).toBe(true);
    expect(isRaftNodeError(appliedOther.error, 'Dropped')).toBe(true);
    expect(failed).toBe(2);
  });

  it('a new proposal at an index still pending from an older term drops the old one', async () => {
    const pending = new PendingProposals(10, () => {});
    const old = add(pending, 7, 1);
    const fresh = add(pending, 7, 4);
    pending.applied(entry(7, 4), 'fresh');
    await flush();
    expect(isRaftNodeError(old.error, 'Dropped')).toBe(true);
    expect(fresh.value).toEqual({ index: 7, result: 'fresh' });
  });

  it('times out by deadline, and a snapshot over a pending index makes its outcome unknown', async () => {
    const pending = new PendingProposals(10, () => {});
    const early = add(pending, 1, 1, 50);
    const late = add(pending, 2, 1, 150);
    const covered = add(pending, 9, 1, 500);
    pending.expire(100);
    pending.coveredBySnapshot(index(9));
    await flush();
    expect(isRaftNodeError(early.error, 'Timeout')).toBe(true);
    expect(isRaftNodeError(late.error, 'Timeout')).toBe(true);
    expect(isRaftNodeError(covered.error, 'Timeout')).toBe(true);
    expect(pending.size).toBe(0);
  });

  it('reports room up to its limit, counting extra waiters the caller holds', () => {
    const pending = new PendingProposals(2, () => {});
    add(pending, 1, 1);
    expect(pending.hasRoom()).toBe(true);
    expect(pending.hasRoom(1)).toBe(false);
  });
});
