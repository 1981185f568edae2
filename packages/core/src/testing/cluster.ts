import { decodeConfigChange } from '../confchange.ts';
import type { RaftConfig } from '../config.ts';
import type { Message } from '../messages.ts';
import type { Mutations } from '../raft.ts';
import { bootstrapState, RawNode } from '../rawnode.ts';
import type { ForwardedProposal, ReadState } from '../ready.ts';
import type { PersistedState } from '../storage.ts';
import type { Entry, HardState, Index, Membership, NodeId, Snapshot, Term } from '../types.ts';

/**
 * A small in-memory cluster for the core's own tests: messages wait in a queue the test
 * controls, and each node "persists" to an in-memory disk following the Ready contract. (The
 * fault-injecting simulator lives in @raftkit/testkit; this one is for precise scenarios.)
 */
export interface TestDisk {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

export type NodeOptions = Partial<Omit<RaftConfig, 'id'>> & { mutations?: Mutations };

export class TestCluster {
  readonly nodes = new Map<NodeId, RawNode>();
  readonly disks = new Map<NodeId, TestDisk>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly forwarded = new Map<NodeId, ForwardedProposal[]>();
  readonly options = new Map<NodeId, NodeOptions>();
  /** Messages in flight, in send order. */
  queue: Message[] = [];
  /** Directed links that drop every message, as `from->to`. */
  readonly cut = new Set<string>();
  /** What happened while handling Readies, for scenario output. */
  events: string[] = [];

  constructor(membership: Membership, options: NodeOptions = {}) {
    for (const id of [...membership.voters, ...membership.learners]) {
      const state = bootstrapState(membership);
      this.disks.set(id, {
        hardState: state.hardState,
        snapshot: state.snapshot as Snapshot,
        entries: [...state.entries],
      });
      this.options.set(id, options);
      this.start(id);
    }
  }

  /** Adds a node that knows nothing yet (it joins through a membership change). */
  addNode(id: NodeId, options: NodeOptions = {}): void {
    this.disks.set(id, emptyDisk());
    this.options.set(id, options);
    this.start(id);
  }

  /** (Re)starts a node from its disk: whatever it had not persisted is gone. */
  start(id: NodeId): void {
    const disk = this.disks.get(id) as TestDisk;
    const { mutations, ...config } = this.options.get(id) ?? {};
    const state: PersistedState = {
      hardState: disk.hardState,
      snapshot: disk.snapshot,
      entries: [...disk.entries],
    };
    const node = new RawNode(
      { electionTicks: 10, heartbeatTicks: 1, seed: seedOf(id), ...config, id },
      state,
      mutations === undefined ? {} : { mutations },
    );
    this.nodes.set(id, node);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    this.forwarded.set(id, []);
    this.queue = this.queue.filter((m) => m.to !== id);
  }

  node(id: string): RawNode {
    const node = this.nodes.get(id as NodeId);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Handles every node's pending Ready once, following the contract in ready.ts. */
  processReadies(): void {
    for (const [id, node] of this.nodes) {
      if (!node.hasReady()) continue;
      const ready = node.ready();
      if (ready.softState !== null) {
        const { role, leader } = ready.softState;
        this.events.push(
          `${id} is ${role} at term ${node.status().term}${leader === null ? '' : `, leader ${leader}`}`,
        );
      }
      this.send(ready.messages);
      const disk = this.disks.get(id) as TestDisk;
      if (ready.snapshot !== null) {
        disk.snapshot = ready.snapshot;
        disk.entries = disk.entries.filter((e) => e.index > (ready.snapshot as Snapshot).meta.index);
        if (disk.entries[0]?.index !== ready.snapshot.meta.index + 1) disk.entries = [];
      }
      if (ready.entries.length > 0) {
        const first = (ready.entries[0] as Entry).index;
        disk.entries = disk.entries.filter((e) => e.index < first).concat(ready.entries);
      }
      if (ready.hardState !== null) disk.hardState = ready.hardState;
      this.send(ready.messagesAfterPersist);
      const applied = this.applied.get(id) as Entry[];
      if (ready.snapshot !== null) applied.length = 0;
      applied.push(...ready.committedEntries);
      (this.readStates.get(id) as ReadState[]).push(...ready.readStates);
      (this.forwarded.get(id) as ForwardedProposal[]).push(...ready.forwarded);
      node.advance();
      node.assertInvariants();
    }
  }

  private send(messages: readonly Message[]): void {
    for (const m of messages) if (this.nodes.has(m.to)) this.queue.push(m);
  }

  /** Delivers every queued message once (dropping those on cut links); returns what was delivered. */
  deliverAll(filter: (m: Message) => boolean = () => true): Message[] {
    const delivered: Message[] = [];
    const batch = this.queue;
    this.queue = [];
    for (const m of batch) {
      if (!filter(m)) {
        this.queue.push(m);
        continue;
      }
      if (this.cut.has(`${m.from}->${m.to}`)) continue;
      delivered.push(m);
      this.nodes.get(m.to)?.step(m);
    }
    return delivered;
  }

  /** Delivers messages and handles Readies until nothing moves; returns every delivered message. */
  stabilize(maxRounds = 10_000): Message[] {
    const delivered: Message[] = [];
    for (let round = 0; round < maxRounds; round++) {
      this.processReadies();
      if (this.queue.length === 0) return delivered;
      delivered.push(...this.deliverAll());
    }
    throw new Error('cluster did not stabilize');
  }

  tick(ids: Iterable<NodeId>, times = 1): void {
    for (let i = 0; i < times; i++) for (const id of ids) this.node(id).tick();
  }

  /** Ticks every node and stabilizes after each tick. */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      this.tick(this.nodes.keys());
      this.stabilize();
    }
  }

  /** Cuts every link between the groups given (a node in no group keeps its links). */
  partition(...groups: string[][]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.cut.add(`${from}->${to}`);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  leader(): RawNode | undefined {
    return [...this.nodes.values()].find((n) => n.status().role === 'leader');
  }

  /** Payloads applied on `id`, skipping empty entries and config entries. */
  appliedData(id: string): string[] {
    return (this.applied.get(id as NodeId) ?? [])
      .filter((e) => e.type === 'normal' && e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

function emptyDisk(): TestDisk {
  return {
    hardState: { term: 0 as Term, votedFor: null, commitIndex: 0 as Index },
    snapshot: {
      meta: {
        index: 0 as Index,
        term: 0 as Term,
        membership: { voters: [], votersOutgoing: [], learners: [] },
      },
      data: new Uint8Array(0),
    },
    entries: [],
  };
}

/** A stable per-node seed, so scenarios replay identically. */
function seedOf(id: string): number {
  let h = 7;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h;
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One line per message, in the paper's vocabulary. */
export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'RequestVote':
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}${m.preVote ? ' pre' : ''}${m.transfer ? ' transfer' : ''}`;
    case 'RequestVoteResponse':
      return `${head} ${m.granted ? 'granted' : 'rejected'}${m.preVote ? ' pre' : ''}`;
    case 'AppendEntries':
      return `${head} prev=${m.prevLogIndex}/${m.prevLogTerm} entries=[${m.entries.map(describeEntry).join(' ')}] commit=${m.leaderCommit}`;
    case 'AppendEntriesResponse':
      return m.success
        ? `${head} ok index=${m.index}`
        : `${head} reject index=${m.index} hint=${m.conflictIndex}/${m.conflictTerm}`;
    case 'Heartbeat':
      return `${head} commit=${m.commitIndex} round=${m.readRound}`;
    case 'HeartbeatResponse':
      return `${head} round=${m.readRound}`;
    case 'InstallSnapshot':
      return `${head} snapshot=${m.snapshot.meta.index}/${m.snapshot.meta.term}`;
    case 'TimeoutNow':
      return head;
    case 'ReadIndexRequest':
      return `${head} request=${m.requestId}${m.lease ? ' lease' : ''}`;
    case 'ReadIndexResponse':
      return `${head} request=${m.requestId} index=${m.readIndex}${m.ok ? '' : ' refused'}`;
    case 'Propose':
      return `${head} request=${m.requestId} entries=[${m.entries.map((e) => new TextDecoder().decode(e)).join(' ')}]`;
    case 'ProposeResponse':
      return `${head} request=${m.requestId} ${m.refused === null ? `index=${m.index}` : `refused ${m.refused}`}`;
  }
}

/** `index/term`, with the payload for non-empty entries and the change for config entries. */
export function describeEntry(e: Entry): string {
  if (e.type === 'config') {
    const change = decodeConfigChange(e.data);
    const what =
      change.changes.length === 0 ? 'leave-joint' : change.changes.map((c) => `${c.kind}:${c.id}`).join(',');
    return `${e.index}/${e.term}:config(${what})`;
  }
  return e.data.byteLength === 0
    ? `${e.index}/${e.term}`
    : `${e.index}/${e.term}:${new TextDecoder().decode(e.data)}`;
}
