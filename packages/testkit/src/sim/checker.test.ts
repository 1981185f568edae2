import type { Entry, NodeId, Term } from '@raftkit/core';
import { index, nodeId, term } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import type { ApplyCursor } from './checker.ts';
import { SafetyChecker } from './checker.ts';
import { emptyDigest } from './digest.ts';
import { MemoryDisk } from './disk.ts';
import type { FailureKind } from './failure.ts';

/** The checker must fail on each state a correct Raft cannot reach, and only on those. */

class Violation extends Error {
  constructor(readonly kind: FailureKind) {
    super(kind);
  }
}

const checker = () =>
  new SafetyChecker((kind) => {
    throw new Violation(kind);
  });

const n1 = nodeId('n1');
const n2 = nodeId('n2');
const entry = (i: number, t: number, text = `${i}/${t}`): Entry => ({
  index: index(i),
  term: term(t),
  type: 'normal',
  data: new TextEncoder().encode(text),
});
const diskWith = (entries: Entry[], commitIndex = 0) =>
  new MemoryDisk({
    hardState: { term: term(9), votedFor: null, commitIndex: index(commitIndex) },
    snapshot: null,
    entries,
  });
const cursor = (): ApplyCursor => ({ index: 0, digest: emptyDigest });

function violation(body: () => void): FailureKind | null {
  try {
    body();
    return null;
  } catch (error) {
    if (error instanceof Violation) return error.kind;
    throw error;
  }
}

function persist(c: SafetyChecker, node: NodeId, entries: Entry[]) {
  const disk = diskWith(entries);
  c.observePersist(node, disk, entries);
}

const n3 = nodeId('n3');
const n4 = nodeId('n4');
const vote = (t: number, votedFor: NodeId) => ({ term: term(t), votedFor, commitIndex: index(0) });
const config = (voters: NodeId[], votersOutgoing: NodeId[] = []) => ({
  voters,
  votersOutgoing,
  learners: [],
});

describe('SafetyChecker', () => {
  it('allows one durable vote per term, repeated or after a crash, and catches a second one', () => {
    const c = checker();
    c.observeHardState(n1, vote(2, n1));
    c.observeHardState(n1, vote(2, n1));
    c.observeHardState(n1, { term: term(3), votedFor: null, commitIndex: index(0) });
    c.observeHardState(n1, vote(3, n2));
    expect(violation(() => c.observeHardState(n1, vote(2, n2)))).toBe('DoubleVote');
  });

  it('counts a vote whose record a newer term superseded before the write, and only then', () => {
    const c = checker();
    // n2 and n3 granted n1 in term 5, then heard of term 6 before persisting: only term 6 is on disk.
    c.observeVoteSent(n2, 5, n1, 6);
    c.observeVoteSent(n3, 5, n1, 6);
    c.observeElected(n1, 5, config([n1, n2, n3]));
    // A vote sent while the durable term is still the vote's own term proves nothing by itself.
    c.observeVoteSent(n2, 7, n3, 7);
    expect(violation(() => c.observeElected(n3, 7, config([n1, n2, n3])))).toBe('MinorityLeader');
    // And a superseded vote still may not contradict a durable one.
    c.observeHardState(n3, vote(8, n3));
    expect(violation(() => c.observeVoteSent(n3, 8, n1, 9))).toBe('DoubleVote');
  });

  it('requires a leader to hold durable votes of a majority of its configuration', () => {
    const c = checker();
    c.observeHardState(n2, vote(4, n1));
    // Its own vote counts even before it is durable: a sole voter wins before persisting.
    c.observeElected(n1, 4, config([n1, n2, n3]));
    c.observeLeader(n1, 4);
    expect(violation(() => c.observeElected(n3, 5, config([n1, n2, n3])))).toBe('MinorityLeader');
    c.observeHardState(n2, vote(6, n3));
    // Two of four is no majority: a single added voter moves the bar.
    expect(violation(() => c.observeElected(n3, 6, config([n1, n2, n3, n4])))).toBe('MinorityLeader');
    expect(c.leaderOf(4)).toBe(n1);
  });

  it('requires both majorities while joint, and counts a non-voter leader only by the voters', () => {
    const c = checker();
    c.observeHardState(n4, vote(2, n1));
    // A majority of C_new {n1, n4} but not of C_old {n1, n2, n3}.
    expect(violation(() => c.observeElected(n1, 2, config([n1, n4], [n1, n2, n3])))).toBe('MinorityLeader');
    c.observeHardState(n2, vote(3, n1));
    c.observeHardState(n4, vote(3, n1));
    c.observeElected(n1, 3, config([n1, n4], [n1, n2, n3]));
    // n4, removed but not yet committed so (thesis §4.2.2), wins {n1, n2} without its own vote.
    c.observeHardState(n1, vote(7, n4));
    expect(violation(() => c.observeElected(n4, 7, config([n1, n2])))).toBe('MinorityLeader');
    c.observeHardState(n1, vote(8, n4));
    c.observeHardState(n2, vote(8, n4));
    c.observeElected(n4, 8, config([n1, n2]));
  });

  it('allows one leader per term, and the same leader again', () => {
    const c = checker();
    c.observeLeader(n1, 2);
    c.observeLeader(n1, 2);
    c.observeLeader(n2, 3);
    expect(violation(() => c.observeLeader(n2, 2))).toBe('TwoLeaders');
  });

  it('finds two logs with one index and term but other contents (Log Matching)', () => {
    const c = checker();
    persist(c, n1, [entry(1, 1), entry(2, 1, 'x')]);
    persist(c, n2, [entry(1, 1), entry(2, 1, 'x')]);
    expect(violation(() => persist(c, n2, [entry(1, 1), entry(2, 1, 'y')]))).toBe('LogMismatch');
  });

  it('finds two logs agreeing at an index and term but not before it (Log Matching)', () => {
    const c = checker();
    persist(c, n1, [entry(1, 1), entry(2, 2)]);
    expect(violation(() => persist(c, n2, [entry(1, 2, '1/1'), entry(2, 2)]))).toBe('LogMismatch');
  });

  it('finds a node replacing an entry below its persisted commit index', () => {
    const c = checker();
    const disk = diskWith([entry(1, 1), entry(2, 1)], 2);
    expect(violation(() => c.checkOverwrite(n1, disk, [entry(3, 2)]))).toBeNull();
    expect(violation(() => c.checkOverwrite(n1, disk, [entry(2, 1)]))).toBeNull();
    expect(violation(() => c.checkOverwrite(n1, disk, [entry(2, 2)]))).toBe('CommittedTruncated');
  });

  it('finds nodes applying different entries at one index (State Machine Safety)', () => {
    const c = checker();
    c.observeApply(n1, cursor(), entry(1, 1), 1);
    c.observeApply(n2, cursor(), entry(1, 1), 1);
    expect(violation(() => c.observeApply(n2, cursor(), entry(1, 1, 'other'), 1))).toBe(
      'StateMachineDivergence',
    );
  });

  it('finds a commit claim that disagrees with an earlier one, before anyone applies it', () => {
    const c = checker();
    c.observeCommitted(n1, entry(4, 2), 2);
    expect(violation(() => c.observeCommitted(n2, entry(4, 3), 3))).toBe('StateMachineDivergence');
  });

  it('finds gaps and repeats in what one node applies', () => {
    const c = checker();
    const at = cursor();
    c.observeApply(n1, at, entry(1, 1), 1);
    expect(violation(() => c.observeApply(n1, at, entry(1, 1), 1))).toBe('ApplyOrder');
    expect(violation(() => c.observeApply(n1, at, entry(3, 1), 1))).toBe('ApplyOrder');
  });

  it('finds a leader lacking an entry committed in an earlier term (Leader Completeness)', () => {
    const c = checker();
    c.observeApply(n1, cursor(), entry(1, 1), 1);
    // A leader of term 1 itself need not hold what term 1 committed later; term 2 must.
    c.observeLeaderLog(n2, 1, diskWith([]));
    c.observeLeaderLog(n2, 2, diskWith([entry(1, 1)]));
    expect(violation(() => c.observeLeaderLog(n2, 2, diskWith([entry(1, 2)])))).toBe('LeaderIncomplete');
    expect(violation(() => c.observeLeaderLog(n2, 2, diskWith([])))).toBe('LeaderIncomplete');
  });

  it('checks that a restored snapshot captures the applied prefix', () => {
    const c = checker();
    const at = cursor();
    c.observeApply(n1, at, entry(1, 1), 1);
    c.observeApply(n1, at, entry(2, 1), 1);
    const meta = {
      index: index(2),
      term: term(1) as Term,
      membership: { voters: [n1], votersOutgoing: [], learners: [] },
    };
    const restored = cursor();
    c.observeRestore(n2, restored, meta, at.digest);
    expect(restored).toEqual(at);
    expect(violation(() => c.observeRestore(n2, cursor(), meta, at.digest + 1))).toBe('SnapshotMismatch');
    expect(violation(() => c.observeRestore(n2, { ...at, index: 5 }, meta, at.digest))).toBe('ApplyOrder');
  });

  it('checks that equal prefixes give equal snapshot bytes', () => {
    const c = checker();
    c.observeSnapshotTaken(n1, 5, new Uint8Array([1, 2]));
    c.observeSnapshotTaken(n2, 5, new Uint8Array([1, 2]));
    expect(violation(() => c.observeSnapshotTaken(n2, 5, new Uint8Array([1, 3])))).toBe('SnapshotMismatch');
  });

  it('finds a read index below what was committed when the read began', () => {
    const c = checker();
    c.observeReadIndex(n1, 1, 4, 4);
    expect(violation(() => c.observeReadIndex(n1, 2, 4, 3))).toBe('StaleRead');
  });
});
