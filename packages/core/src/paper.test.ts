import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRaftError } from './errors.ts';
import type { AppendEntries, Message, RequestVote } from './messages.ts';
import { bootstrapState, RawNode } from './rawnode.ts';
import { bytes, describeMessage, TestCluster } from './testing/cluster.ts';
import type { Entry, Index, NodeId, Term } from './types.ts';

/** Each test names the section of the Raft paper (or thesis) whose rule it checks. */

const ids = (...names: string[]) => names as NodeId[];
const members = (...names: string[]) => ({ voters: ids(...names), votersOutgoing: [], learners: [] });

function electedCluster(names = ['a', 'b', 'c']): TestCluster {
  const c = new TestCluster(members(...names));
  c.node(names[0] as string).campaign();
  c.stabilize();
  expect(c.node(names[0] as string).status().role).toBe('leader');
  return c;
}

function drainReady(node: RawNode) {
  const ready = node.ready();
  node.advance();
  return ready;
}

describe('§5.1 terms', () => {
  it('a leader that sees a higher term steps down and adopts it', () => {
    const c = electedCluster();
    const a = c.node('a');
    a.step({
      type: 'Heartbeat',
      from: 'b' as NodeId,
      to: 'a' as NodeId,
      term: 9 as Term,
      commitIndex: 0 as Index,
      readRound: 0,
    });
    expect(a.status()).toMatchObject({ role: 'follower', term: 9, leader: 'b' });
  });

  it('a message from an earlier term changes nothing but tells its sender the current term', () => {
    const c = electedCluster();
    const b = c.node('b');
    const before = b.status();
    const stale: AppendEntries = {
      type: 'AppendEntries',
      from: 'c' as NodeId,
      to: 'b' as NodeId,
      term: 1 as Term,
      prevLogIndex: 0 as Index,
      prevLogTerm: 0 as Term,
      entries: [],
      leaderCommit: 0 as Index,
    };
    b.step(stale);
    expect(b.status()).toEqual(before);
    const reply = drainReady(b).messagesAfterPersist;
    expect(reply).toEqual([
      expect.objectContaining({ type: 'AppendEntriesResponse', to: 'c', term: before.term, success: false }),
    ]);
  });
});

describe('§5.2 leader election', () => {
  it('election timeouts are randomized in [T, 2T) and differ between seeds', () => {
    const timeouts = new Set<number>();
    for (let seed = 0; seed < 50; seed++) {
      const node = new RawNode(
        { id: 'a' as NodeId, seed, electionTicks: 10, preVote: false },
        bootstrapState(members('a', 'b', 'c')),
      );
      let ticks = 0;
      while (node.status().role === 'follower') {
        node.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      timeouts.add(ticks);
    }
    expect(timeouts.size).toBeGreaterThan(3);
  });

  it('a node grants one vote per term, and the vote survives a restart', () => {
    const c = new TestCluster(members('a', 'b', 'c'), { preVote: false });
    const vote = (from: string): RequestVote => ({
      type: 'RequestVote',
      from: from as NodeId,
      to: 'b' as NodeId,
      term: 2 as Term,
      preVote: false,
      lastLogIndex: 1 as Index,
      lastLogTerm: 1 as Term,
      transfer: false,
    });
    c.node('b').step(vote('a'));
    c.processReadies();
    expect(c.disks.get('b' as NodeId)?.hardState.votedFor).toBe('a');
    c.queue = [];
    c.start('b' as NodeId); // crash and restart from disk
    c.node('b').step(vote('c'));
    const ready = drainReady(c.node('b'));
    expect(ready.messagesAfterPersist).toEqual([
      expect.objectContaining({ type: 'RequestVoteResponse', granted: false }),
    ]);
  });

  it('the vote response waits for the vote to be persisted (messagesAfterPersist)', () => {
    const node = new RawNode({ id: 'b' as NodeId, preVote: false }, bootstrapState(members('a', 'b', 'c')));
    node.step({
      type: 'RequestVote',
      from: 'a' as NodeId,
      to: 'b' as NodeId,
      term: 2 as Term,
      preVote: false,
      lastLogIndex: 1 as Index,
      lastLogTerm: 1 as Term,
      transfer: false,
    });
    const ready = node.ready();
    expect(ready.hardState).toMatchObject({ term: 2, votedFor: 'a' });
    expect(ready.messages).toEqual([]);
    expect(ready.messagesAfterPersist).toHaveLength(1);
  });
});

describe('§5.3 log replication', () => {
  it('a follower rejects AppendEntries whose previous entry it lacks, and truncates a conflicting suffix', () => {
    const node = new RawNode({ id: 'b' as NodeId }, bootstrapState(members('a', 'b')));
    const entry = (index: number, term: number, data: string): Entry => ({
      index: index as Index,
      term: term as Term,
      type: 'normal',
      data: bytes(data),
    });
    const append = (prev: number, prevTerm: number, term: number, entries: Entry[]): AppendEntries => ({
      type: 'AppendEntries',
      from: 'a' as NodeId,
      to: 'b' as NodeId,
      term: term as Term,
      prevLogIndex: prev as Index,
      prevLogTerm: prevTerm as Term,
      entries,
      leaderCommit: 1 as Index,
    });
    node.step(append(5, 2, 2, []));
    expect(drainReady(node).messagesAfterPersist[0]).toMatchObject({
      success: false,
      index: 5,
      conflictIndex: 1,
      conflictTerm: 1,
    });
    node.step(append(1, 1, 2, [entry(2, 2, 'x'), entry(3, 2, 'y')]));
    expect(drainReady(node).messagesAfterPersist[0]).toMatchObject({ success: true, index: 3 });
    node.step(append(2, 2, 3, [entry(3, 3, 'z')]));
    const ready = drainReady(node);
    expect(ready.entries).toEqual([entry(3, 3, 'z')]);
    expect(node.entry(3 as Index)?.term).toBe(3);
  });

  it('a far-behind, divergent follower catches up in a number of round trips bounded by terms, not entries', () => {
    // CheckQuorum off: restarted nodes would otherwise sit out a lease period before voting.
    const c = new TestCluster(members('a', 'b', 'c'), { checkQuorum: false });
    const entry = (index: number, term: number, data: string): Entry => ({
      index: index as Index,
      term: term as Term,
      type: 'normal',
      data: bytes(data),
    });
    // b led terms 2 to 4 without reaching anyone and wrote 900 entries; a led term 5 with c.
    for (const id of ids('a', 'b', 'c')) {
      const disk = c.disks.get(id);
      if (disk === undefined) throw new Error('no disk');
      disk.hardState = { term: 5 as Term, votedFor: null, commitIndex: 1 as Index };
      if (id === 'b') {
        for (let i = 0; i < 900; i++) disk.entries.push(entry(2 + i, 2 + Math.floor(i / 300), 'stale'));
      } else {
        for (let i = 0; i < 3; i++) disk.entries.push(entry(2 + i, 5, `fresh-${i}`));
      }
      c.start(id);
    }
    c.node('a').campaign();
    const rejections: Message[] = [];
    for (;;) {
      c.processReadies();
      if (c.queue.length === 0) break;
      const delivered = c.deliverAll();
      rejections.push(
        ...delivered.filter((m) => m.type === 'AppendEntriesResponse' && !m.success && m.from === 'b'),
      );
    }
    expect(c.node('a').status().role).toBe('leader');
    c.tickAll(1); // the next heartbeat tells b the commit index
    expect(c.appliedData('b')).toEqual(['fresh-0', 'fresh-1', 'fresh-2']);
    // One rejection per divergent term (2, 3, 4) at the most, not one per entry.
    expect(rejections.length, rejections.map(describeMessage).join('\n')).toBeLessThanOrEqual(3);
    expect(rejections.length).toBeGreaterThan(0);
  });

  it('pipelining stops at maxInflightMessages unacknowledged AppendEntries, and each is bounded by maxMessageBytes', () => {
    const leader = new TestCluster(members('a', 'b'), { maxInflightMessages: 3, maxMessageBytes: 100 });
    leader.node('a').campaign();
    leader.stabilize();
    for (let i = 0; i < 20; i++) leader.node('a').propose(new Uint8Array(60));
    leader.processReadies();
    const sent = leader.queue.filter((m): m is AppendEntries => m.type === 'AppendEntries');
    expect(sent).toHaveLength(3);
    for (const m of sent) expect(m.entries.length).toBe(1);
  });
});

describe('§5.4.1 election restriction', () => {
  it('a voter refuses a candidate whose log is less up to date', () => {
    const c = electedCluster();
    c.node('a').propose(bytes('x'));
    c.stabilize();
    const b = c.node('b');
    b.step({
      type: 'RequestVote',
      from: 'c' as NodeId,
      to: 'b' as NodeId,
      term: 10 as Term,
      preVote: false,
      lastLogIndex: 1 as Index,
      lastLogTerm: 1 as Term,
      transfer: true,
    });
    expect(drainReady(b).messagesAfterPersist[0]).toMatchObject({
      type: 'RequestVoteResponse',
      granted: false,
    });
  });
});

describe('thesis §10.2.1 leader persistence', () => {
  it('a single-node leader commits its entry only after advance() reports it durable', () => {
    const node = new RawNode({ id: 'a' as NodeId }, bootstrapState(members('a')));
    node.campaign();
    drainReady(node);
    const index = node.propose(bytes('x'));
    const ready = node.ready();
    expect(ready.entries.map((e) => e.index)).toContain(index);
    expect(node.status().commitIndex).toBeLessThan(index);
    node.advance();
    expect(node.status().commitIndex).toBe(index);
    expect(node.ready().committedEntries.map((e) => e.index)).toContain(index);
  });

  it("a commit that the leader's own write completes goes to the followers at once", () => {
    const c = electedCluster();
    const a = c.node('a');
    const index = a.propose(bytes('x'));
    const sent = a.ready();
    const append = sent.messages.find((m) => m.to === 'b' && m.type === 'AppendEntries');
    expect(append).toBeDefined();
    // b acknowledges before a's own write is durable: no commit yet, a's vote is missing.
    const b = c.node('b');
    b.step(append as Message);
    const ack = drainReady(b).messagesAfterPersist.find((m) => m.type === 'AppendEntriesResponse');
    a.step(ack as Message);
    expect(a.status().commitIndex).toBeLessThan(index);
    a.advance();
    expect(a.status().commitIndex).toBe(index);
    // Nothing new to replicate, yet both followers hear of the commit now, not at a heartbeat.
    const told = a.ready().messages.filter((m) => m.type === 'AppendEntries');
    expect(told.map((m) => [m.to, (m as AppendEntries).leaderCommit])).toEqual([
      ['b', index],
      ['c', index],
    ]);
  });
});

describe('thesis §10.2.1 with Raft §5.2: no message of a term before the term is durable', () => {
  it('a leader that wins in the Ready that carries its new term holds even its replication back', () => {
    const node = new RawNode({ id: 'a' as NodeId, preVote: false }, bootstrapState(members('a', 'b', 'c')));
    node.campaign();
    // The vote arrives before the candidate's own term and vote were handed out to be written.
    node.step({
      type: 'RequestVoteResponse',
      from: 'b' as NodeId,
      to: 'a' as NodeId,
      term: 2 as Term,
      granted: true,
      preVote: false,
    });
    expect(node.status().role).toBe('leader');
    const won = node.ready();
    expect(won.hardState).toMatchObject({ term: 2, votedFor: 'a' });
    expect(won.mustSync).toBe(true);
    expect(won.messages).toEqual([]);
    expect(won.messagesAfterPersist.map((m) => m.type)).toContain('AppendEntries');
    node.advance();
    // Its term is durable now: what it sends may leave in parallel with its own writes again.
    node.tick();
    const next = node.ready();
    expect(next.messages.map((m) => m.type)).toContain('Heartbeat');
  });
});

describe('Raft §7 log compaction', () => {
  it('a second snapshot stepped while the first is being persisted is handed out next, not lost', () => {
    const b = new RawNode({ id: 'b' as NodeId }, bootstrapState(members('a', 'b', 'c')));
    const install = (index: number): Message => ({
      type: 'InstallSnapshot',
      from: 'a' as NodeId,
      to: 'b' as NodeId,
      term: 2 as Term,
      snapshot: {
        meta: { index: index as Index, term: 2 as Term, membership: members('a', 'b', 'c') },
        data: bytes(`state at ${index}`),
      },
    });
    b.step(install(10));
    const first = b.ready();
    expect(first.snapshot?.meta.index).toBe(10);
    // The leader's next snapshot arrives before the application finished with the first.
    b.step(install(20));
    b.advance();
    expect(b.status().appliedIndex).toBe(10);
    const second = b.ready();
    expect(second.snapshot?.meta.index).toBe(20);
    b.advance();
    expect(b.status()).toMatchObject({ appliedIndex: 20, commitIndex: 20 });
    expect(b.hasReady()).toBe(false);
  });
});

describe('thesis §6.4.1 leases across restarts', () => {
  it('a restarted node refuses votes for an election timeout, as if it had just heard from a leader', () => {
    const c = electedCluster();
    c.node('a').propose(bytes('x'));
    c.stabilize();
    c.start('b' as NodeId); // b crashes and restarts: it may have extended a's lease
    const vote: RequestVote = {
      type: 'RequestVote',
      from: 'c' as NodeId,
      to: 'b' as NodeId,
      term: 3 as Term,
      preVote: true,
      lastLogIndex: 10 as Index,
      lastLogTerm: 2 as Term,
      transfer: false,
    };
    c.node('b').step(vote);
    expect(drainReady(c.node('b')).messagesAfterPersist).toEqual([]);
    c.tick(['b' as NodeId], 10);
    c.node('b').step(vote);
    expect(drainReady(c.node('b')).messagesAfterPersist).toEqual([
      expect.objectContaining({ granted: true }),
    ]);
  });
});

describe('thesis §4.2.2 removal', () => {
  it('a leader whose removal is not committed yet may still campaign, and then commits it and steps down', () => {
    const c = new TestCluster(members('a', 'b'));
    c.node('a').campaign();
    c.stabilize();
    c.partition(['a'], ['b']);
    c.node('a').proposeConfigChange({ changes: [{ kind: 'remove', id: 'a' as NodeId }] });
    c.tickAll(30); // CheckQuorum: a steps down holding its uncommitted removal
    expect(c.node('a').status().role).not.toBe('leader');
    c.heal();
    c.tickAll(60);
    expect(c.node('b').status()).toMatchObject({ role: 'leader', membership: { voters: ['b'] } });
    expect(c.node('a').status().role).toBe('follower');
  });
});

describe('Ready.mustSync', () => {
  it('is false when only the commit index moved, true for entries and for a vote', () => {
    const c = electedCluster();
    c.node('a').propose(bytes('x'));
    c.processReadies(); // a persists the entry and sends it
    c.deliverAll(); // b and c append it
    const follower = c.node('b');
    const appended = follower.ready();
    expect(appended.entries).toHaveLength(1);
    expect(appended.mustSync).toBe(true);
    follower.advance();
    c.processReadies();
    c.deliverAll(); // a hears the acks and commits
    const leader = c.node('a').ready();
    expect(leader.entries).toHaveLength(0);
    expect(leader.committedEntries).toHaveLength(1);
    expect(leader.hardState?.commitIndex).toBe(leader.committedEntries[0]?.index);
    expect(leader.mustSync).toBe(false);
    c.node('a').advance();
  });
});

describe('proposals', () => {
  it('a follower refuses a proposal and names the leader', () => {
    const c = electedCluster();
    try {
      c.node('b').propose(bytes('x'));
      expect.unreachable();
    } catch (e) {
      expect(isRaftError(e, 'NotLeader')).toBe(true);
      expect((e as { leaderHint: unknown }).leaderHint).toBe('a');
    }
  });

  it('proposals beyond maxUncommittedBytes are refused with Busy', () => {
    const c = new TestCluster(members('a', 'b', 'c'), { maxUncommittedBytes: 1000 });
    c.node('a').campaign();
    c.stabilize();
    c.partition(['a'], ['b', 'c']);
    c.node('a').propose(new Uint8Array(600));
    expect(() => c.node('a').propose(new Uint8Array(600))).toThrow(expect.objectContaining({ code: 'Busy' }));
  });
});

describe('thesis §6.2 proposal forwarding', () => {
  it('appends a Propose the network duplicated once, and drops a request a later one overtook', () => {
    const c = electedCluster();
    const a = c.node('a');
    const propose = (requestId: number): Message => ({
      type: 'Propose',
      from: 'b' as NodeId,
      to: 'a' as NodeId,
      term: a.status().term,
      requestId,
      entries: [bytes(`p${requestId}`)],
    });
    const before = a.status().lastIndex;
    a.step(propose(7));
    a.step(propose(7));
    a.step(propose(5));
    expect(a.status().lastIndex).toBe(before + 1);
    const answers = drainReady(a).messages.filter((m) => m.type === 'ProposeResponse');
    expect(answers.map(describeMessage)).toEqual([
      `a->b ProposeResponse term=2 request=7 index=${before + 1}`,
    ]);
    // A later request from the same sender is taken as usual.
    a.step(propose(8));
    expect(a.status().lastIndex).toBe(before + 2);
  });
});

describe('input validation', () => {
  it('refuses malformed messages with InvalidMessage and changes nothing', () => {
    const c = electedCluster();
    const b = c.node('b');
    fc.assert(
      fc.property(
        fc.anything(),
        fc.constantFrom(
          'AppendEntries',
          'RequestVote',
          'Heartbeat',
          'InstallSnapshot',
          'Propose',
          'ProposeResponse',
          'x',
        ),
        (junk, type) => {
          const before = JSON.stringify(b.status());
          const message =
            typeof junk === 'object' && junk !== null ? { ...junk, type, from: 'a', to: 'b', term: 3 } : junk;
          try {
            b.step(message as Message);
          } catch (e) {
            expect(isRaftError(e, 'InvalidMessage')).toBe(true);
            expect(JSON.stringify(b.status())).toBe(before);
          }
        },
      ),
    );
  });

  it('refuses entries that do not follow prevLogIndex', () => {
    const c = electedCluster();
    const bad = {
      type: 'AppendEntries',
      from: 'a',
      to: 'b',
      term: 2,
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [{ index: 5, term: 2, type: 'normal', data: new Uint8Array(0) }],
      leaderCommit: 0,
    } as unknown as Message;
    expect(() => c.node('b').step(bad)).toThrow(expect.objectContaining({ code: 'InvalidMessage' }));
  });
});

describe('determinism', () => {
  it('the same inputs give the same outputs', () => {
    const run = () => {
      const c = new TestCluster(members('a', 'b', 'c'));
      const trace: string[] = [];
      for (let t = 0; t < 60; t++) {
        c.tick(c.nodes.keys());
        if (t % 7 === 0) c.leader()?.propose(bytes(`w${t}`));
        for (;;) {
          c.processReadies();
          if (c.queue.length === 0) break;
          trace.push(...c.deliverAll().map(describeMessage));
        }
      }
      return trace;
    };
    const first = run();
    expect(first.length).toBeGreaterThan(50);
    expect(run()).toEqual(first);
  });
});
