import type { Entry, NodeId, Storage } from '@raftkit/core';
import { nodeId } from '@raftkit/core';
import { MemoryStorage } from '@raftkit/testkit';
import type { RaftNodeOptions, StateMachine } from '../../src/options.ts';
import { RaftNode } from '../../src/raft-node.ts';
import type { StateSnapshot } from '../../src/snapshot-stream.ts';
import { ManualClock } from './manual-clock.ts';
import { MemoryNetwork, type MemoryTransport } from './memory-network.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const text = (s: string): Uint8Array => encoder.encode(s);

/** Appends every command to a list; the result of a command is the list's new length. */
export class ListStateMachine implements StateMachine {
  items: string[] = [];

  apply(entry: Entry): unknown {
    this.items.push(decoder.decode(entry.data));
    return this.items.length;
  }

  snapshot(): StateSnapshot {
    return encoder.encode(JSON.stringify(this.items));
  }

  restore(data: Uint8Array): void {
    this.items = JSON.parse(decoder.decode(data));
  }

  /** The one command this state machine refuses: `invalid`. */
  validate(data: Uint8Array): void {
    if (decoder.decode(data) === 'invalid') throw new Error('not a command');
  }
}

export const tickMs = 10;

export interface StartOptions extends Partial<Omit<RaftNodeOptions, 'id' | 'storage' | 'stateMachine'>> {
  /** Wraps the node's store, e.g. in a `ControlledStorage`. */
  readonly wrapStorage?: (storage: Storage) => Storage;
  /** The node's state machine; a fresh `ListStateMachine` unless given. */
  readonly stateMachine?: () => ListStateMachine;
}

/**
 * Several RaftNodes in one process: virtual time, an in-memory network, and in-memory stores
 * that survive a node's stop and restart (opened again by name).
 */
export class TestCluster {
  readonly clock = new ManualClock();
  readonly network = new MemoryNetwork();
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly machines = new Map<NodeId, ListStateMachine>();
  readonly transports = new Map<NodeId, MemoryTransport>();
  readonly #disks = MemoryStorage.factory();
  readonly members: Record<string, string>;

  constructor(
    ids: readonly string[],
    private readonly defaults: StartOptions = {},
  ) {
    this.members = Object.fromEntries(ids.map((id) => [id, TestCluster.url(id)]));
  }

  static url(id: string): string {
    return `mem://${id}`;
  }

  /** Starts every member and waits for a leader. */
  static async started(ids: readonly string[], defaults: StartOptions = {}): Promise<TestCluster> {
    const cluster = new TestCluster(ids, defaults);
    for (const id of ids) await cluster.start(id);
    await cluster.until(() => cluster.leader() !== null, 'a leader is elected');
    return cluster;
  }

  async start(id: string, options: StartOptions = {}): Promise<RaftNode> {
    const merged: StartOptions = { ...this.defaults, ...options };
    const opened = await this.#disks.open(`dir-${id}`, { clusterId: 'test', nodeId: nodeId(id) });
    const stateMachine = merged.stateMachine?.() ?? new ListStateMachine();
    const transport = this.network.transport(nodeId(id));
    const node = await RaftNode.start({
      bootstrap: { members: this.members },
      tickMs,
      clock: this.clock,
      ...merged,
      id: nodeId(id),
      storage: merged.wrapStorage?.(opened) ?? opened,
      transport,
      stateMachine,
    });
    this.nodes.set(nodeId(id), node);
    this.machines.set(nodeId(id), stateMachine);
    this.transports.set(nodeId(id), transport);
    return node;
  }

  node(id: string): RaftNode {
    const node = this.nodes.get(nodeId(id));
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  machine(id: string): ListStateMachine {
    const machine = this.machines.get(nodeId(id));
    if (machine === undefined) throw new Error(`no state machine ${id}`);
    return machine;
  }

  /** The running node that believes it leads (the one with the highest term if several do). */
  leader(): RaftNode | null {
    let best: RaftNode | null = null;
    for (const node of this.nodes.values()) {
      const s = node.status();
      if (s.state === 'running' && s.role === 'leader' && (best === null || s.term > best.status().term))
        best = node;
    }
    return best;
  }

  followers(): RaftNode[] {
    const leader = this.leader();
    return [...this.nodes.values()].filter((n) => n !== leader && n.status().state === 'running');
  }

  async stop(id: string): Promise<void> {
    await this.node(id).stop();
    this.nodes.delete(nodeId(id));
  }

  async stopAll(): Promise<void> {
    for (const node of this.nodes.values()) await node.stop();
  }

  /** One tick of virtual time, then a few network hops' worth of real (zero-delay) macrotasks. */
  async step(): Promise<void> {
    this.clock.advance(tickMs);
    for (let hop = 0; hop < 4; hop++) await new Promise((go) => setTimeout(go, 0));
  }

  /** Steps until `condition` holds; fails after `maxTicks` ticks of virtual time. */
  async until(condition: () => boolean, what: string, maxTicks = 1_000): Promise<void> {
    for (let tick = 0; tick < maxTicks; tick++) {
      if (condition()) return;
      await this.step();
    }
    if (!condition()) throw new Error(`not true after ${maxTicks} ticks: ${what}`);
  }

  /** Steps until `promise` settles, then returns its outcome. */
  async settle<T>(promise: Promise<T>, what = 'the promise settles', maxTicks = 1_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.until(() => settled, what, maxTicks);
    return promise;
  }
}
