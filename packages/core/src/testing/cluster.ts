import type { Message } from '../messages.ts';
import { bootstrapState, RawNode } from '../rawnode.ts';
import type { PersistedState } from '../storage.ts';
import type { Entry, HardState, Index, NodeId, Snapshot } from '../types.ts';

/**
 * A minimal in-memory cluster for the core's own tests: nodes exchange messages through a queue
 * the test controls, each node "persists" to an in-memory disk following the Ready contract.
 * (The full fault-injecting simulator lives in @raftkit/testkit.)
 */
export interface TestDisk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export class TestCluster {
  readonly nodes = new Map<NodeId, RawNode>();
  readonly disks = new Map<NodeId, TestDisk>();
  readonly applied = new Map<NodeId, Entry[]>();
  /** Messages in flight, in send order. */
  queue: Message[] = [];
  /** Links that drop every message: `from->to`. */
  readonly cut = new Set<string>();

  constructor(
    ids: readonly string[],
    private readonly configFor: (
      id: NodeId,
    ) => Partial<ConstructorParameters<typeof RawNode>[0]> = () => ({}),
  ) {
    const voters = ids as NodeId[];
    for (const id of voters) {
      const state = bootstrapState({ voters, votersOutgoing: [], learners: [] });
      this.disks.set(id, { hardState: state.hardState, snapshot: state.snapshot, entries: [] });
      this.start(id, state);
    }
  }

  start(id: NodeId, state: PersistedState): void {
    this.nodes.set(
      id,
      new RawNode(
        {
          id,
          electionTicks: 10,
          heartbeatTicks: 1,
          seed: id.charCodeAt(id.length - 1),
          ...this.configFor(id),
        },
        state,
      ),
    );
    this.applied.set(id, []);
  }

  node(id: string): RawNode {
    const node = this.nodes.get(id as NodeId);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Handles every node's Ready once, following the contract in ready.ts. */
  processReadies(): void {
    for (const [id, node] of this.nodes) {
      if (!node.hasReady()) continue;
      const ready = node.ready();
      this.send(ready.messages);
      const disk = this.disks.get(id) as TestDisk;
      if (ready.snapshot !== null) {
        disk.snapshot = ready.snapshot;
        disk.entries = [];
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
      node.advance();
      node.assertInvariants();
    }
  }

  private send(messages: readonly Message[]): void {
    for (const m of messages)
      if (!this.cut.has(`${m.from}->${m.to}`) && this.nodes.has(m.to)) this.queue.push(m);
  }

  /** Delivers queued messages and handles Readies until nothing moves. */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processReadies();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) this.nodes.get(m.to)?.step(m);
    }
    throw new Error('cluster did not settle');
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const node of this.nodes.values()) node.tick();
      this.settle();
    }
  }

  /** Crashes a node: everything not on its disk is lost; it restarts from the disk. */
  restart(id: string): void {
    const disk = this.disks.get(id as NodeId) as TestDisk;
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
    this.start(id as NodeId, {
      hardState: disk.hardState,
      snapshot: disk.snapshot,
      entries: [...disk.entries],
    });
  }

  isolate(id: string): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  leader(): RawNode | undefined {
    return [...this.nodes.values()].find((n) => n.status().role === 'leader');
  }

  appliedData(id: string): string[] {
    return (this.applied.get(id as NodeId) ?? [])
      .filter((e) => e.data.byteLength > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const asIndex = (n: number): Index => n as Index;
