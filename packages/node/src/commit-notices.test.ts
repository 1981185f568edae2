import { type Entry, index, type Message, nodeId, term } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { CommitNotices } from './commit-notices.ts';

const L = nodeId('leader');
const F = nodeId('f');
const G = nodeId('g');

const entry = (i: number): Entry => ({
  index: index(i),
  term: term(2),
  type: 'normal',
  data: new Uint8Array(1),
});

const append = (to: typeof F, commit: number, entries: Entry[] = [], t = 2): Message => ({
  type: 'AppendEntries',
  from: L,
  to,
  term: term(t),
  prevLogIndex: index(9),
  prevLogTerm: term(2),
  entries,
  leaderCommit: index(commit),
});

const answer = (to: typeof F, at: number, refused: 'NotLeader' | null = null): Message => ({
  type: 'ProposeResponse',
  from: L,
  to,
  term: term(2),
  requestId: 1,
  index: index(refused === null ? at : 0),
  refused,
});

/** Each message of `messages`, with whether it may wait. */
const sorted = (notices: CommitNotices, messages: Message[]) =>
  notices.runs(messages).flatMap((run) => run.messages.map((m) => [m, run.mayWait] as const));

describe('commit notices', () => {
  it('lets an AppendEntries without entries wait, and nothing else', () => {
    const notices = new CommitNotices();
    const heartbeat: Message = {
      type: 'Heartbeat',
      from: L,
      to: F,
      term: term(2),
      commitIndex: index(9),
      readRound: 1,
    };
    const messages = [append(F, 9), append(G, 9, [entry(10)]), heartbeat, append(G, 9)];
    expect(sorted(notices, messages).map(([, mayWait]) => mayWait)).toEqual([true, false, false, true]);
  });

  it('cuts messages into runs without reordering them', () => {
    const notices = new CommitNotices();
    const messages = [append(F, 9), append(G, 9), append(F, 9, [entry(10)]), append(G, 10)];
    const runs = notices.runs(messages);
    expect(runs.map((r) => [r.messages.length, r.mayWait])).toEqual([
      [2, true],
      [1, false],
      [1, true],
    ]);
    expect(runs.flatMap((r) => r.messages)).toEqual(messages);
  });

  it('sends at once the notices to a follower until one covers the index its forwarded proposal got', () => {
    const notices = new CommitNotices();
    sorted(notices, [answer(F, 12)]);
    // Still below 12: F goes on waiting, so each notice goes now; G waits for nothing.
    expect(sorted(notices, [append(F, 11), append(G, 11)]).map(([, w]) => w)).toEqual([false, true]);
    expect(sorted(notices, [append(F, 12)]).map(([, w]) => w)).toEqual([false]);
    // Told 12: F waits for nothing more.
    expect(sorted(notices, [append(F, 13)]).map(([, w]) => w)).toEqual([true]);
  });

  it('counts a commit index sent with entries as told', () => {
    const notices = new CommitNotices();
    sorted(notices, [answer(F, 12), append(F, 12, [entry(13)])]);
    expect(sorted(notices, [append(F, 13)]).map(([, w]) => w)).toEqual([true]);
  });

  it('ignores refused proposals: their follower waits for no commit', () => {
    const notices = new CommitNotices();
    sorted(notices, [answer(F, 0, 'NotLeader')]);
    expect(sorted(notices, [append(F, 5)]).map(([, w]) => w)).toEqual([true]);
  });

  it('starts over in a new term: what an earlier leadership told followers no longer counts', () => {
    const notices = new CommitNotices();
    sorted(notices, [append(F, 20)]);
    const later = { ...answer(F, 15), term: term(3) };
    expect(sorted(notices, [later, append(F, 14, [], 3)]).map(([, w]) => w)).toEqual([false, false]);
  });
});
