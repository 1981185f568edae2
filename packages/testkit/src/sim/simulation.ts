import type { Entry, Message, Mutations, NodeId, PersistedState, RaftConfig, ReadState } from '@raftkit/core';
import { bootstrapState, isRaftError, nodeId } from '@raftkit/core';
import type { Fail } from './checker.ts';
import { SafetyChecker } from './checker.ts';
import type { Operation } from './clients.ts';
import { Clients } from './clients.ts';
import { bytesEqual } from './digest.ts';
import type { NodeDisk } from './disk.ts';
import type { FailureKind } from './failure.ts';
import { SimulationFailure } from './failure.ts';
import type { LivenessBounds } from './liveness.ts';
import { livenessBounds } from './liveness.ts';
import type { FaultMix, MixName } from './mixes.ts';
import { mixByName } from './mixes.ts';
import type { NodeHost } from './node.ts';
import { SimNode } from './node.ts';
import { Partitions } from './partitions.ts';
import { EventQueue } from './queue.ts';
import { Random } from './random.ts';
import type { SimStateMachine } from './state-machine.ts';
import { KvStateMachine } from './state-machine.ts';
import type { TraceEvent } from './trace.ts';
import { Trace } from './trace.ts';

/** Core settings the simulation may override; `id` and `seed` are the simulation's to choose. */
export type SimRaftConfig = Omit<RaftConfig, 'id' | 'seed'>;

export interface SimulationOptions {
  /** Decides every random choice of the run: the same seed replays the same run. */
  readonly seed: number;
  /** Cluster size; default 3. */
  readonly nodes?: number;
  /** A named fault mix (`calm`, `lossy`, `partitions`, `crashes`, `snapshots`, `chaos`, `reads`) or your own. */
  readonly mix?: MixName | FaultMix;
  /** Builds one node's state machine; default a string map. Must be deterministic. */
  readonly stateMachine?: () => SimStateMachine;
  readonly raft?: SimRaftConfig;
  /** Deliberately broken Raft rules, to prove that the simulator catches them. Test-only. */
  readonly mutations?: Mutations;
  /**
   * Call the core's `assertInvariants()` after every step (default true). Off, only the
   * simulator's own checks judge the run: how the mutant tests show that those catch bugs.
   */
  readonly coreInvariants?: boolean;
  /** One node's real disk (e.g. a `StorageDisk` over a store in a temp dir); default simulated. */
  readonly disk?: (id: NodeId, initial: PersistedState) => NodeDisk;
  /** Events kept for the failure trace; default 400. `Infinity` keeps the whole run. */
  readonly traceLimit?: number;
  /** Concurrent clients; default 3. */
  readonly clients?: number;
}

/** What `check()` measured, in ticks after faults healed. */
export interface LivenessReport {
  readonly electedAfter: number;
  readonly leader: NodeId;
  readonly commitLatencies: readonly number[];
  readonly bounds: LivenessBounds;
}

type SimEvent =
  | {
      readonly kind: 'deliver';
      readonly message: Message;
      readonly fromLife: number;
      readonly toLife: number;
    }
  | { readonly kind: 'persisted'; readonly node: SimNode; readonly life: number }
  | { readonly kind: 'restart'; readonly node: SimNode; readonly life: number };

const defaultRaft = { electionTicks: 10, heartbeatTicks: 2 };

/** Proposals made to the stable leader after healing, each timed against the commit bound. */
const livenessProbes = 3;

/**
 * A deterministic Raft cluster: cores over a simulated network and simulated (or real) disks,
 * driven by one seeded generator and a logical clock. `run(ticks)` runs with the mix's faults,
 * checking safety after every step; `check()` heals every fault and checks liveness.
 * Any broken property throws a `SimulationFailure` naming the seed, with the last events.
 */
export class Simulation {
  readonly seed: number;
  readonly mix: FaultMix;
  readonly nodes: readonly SimNode[];
  readonly bounds: LivenessBounds;
  readonly #random: Random;
  readonly #raft: SimRaftConfig & { readonly electionTicks: number; readonly heartbeatTicks: number };
  readonly #mutations: Mutations;
  readonly #trace: Trace;
  readonly #checker: SafetyChecker;
  readonly #clients: Clients;
  readonly #queue = new EventQueue<SimEvent>();
  readonly #partitions: Partitions;
  readonly #byId = new Map<NodeId, SimNode>();
  #now = 0;
  #faults = true;
  #started = false;
  #failure: SimulationFailure | null = null;
  /** The liveness probe being awaited: which node must apply what at which index. */
  #probe: { node: SimNode; index: number; data: Uint8Array; committed: boolean } | null = null;

  constructor(options: SimulationOptions) {
    const size = options.nodes ?? 3;
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError(`nodes must be a positive integer, got ${size}`);
    this.seed = options.seed;
    this.mix = typeof options.mix === 'object' ? options.mix : mixByName(options.mix ?? 'chaos');
    this.#random = new Random(options.seed);
    this.#raft = { ...defaultRaft, maxMessageBytes: this.mix.maxMessageBytes, ...options.raft };
    this.#mutations = options.mutations ?? {};
    this.bounds = livenessBounds(this.#raft, this.mix);
    this.#trace = new Trace(options.traceLimit ?? 400);
    const fail: Fail = (kind, detail) => this.#fail(kind, detail);
    this.#checker = new SafetyChecker(fail);
    const ids = Array.from({ length: size }, (_, k) => nodeId(`n${k + 1}`));
    const initial = bootstrapState({ voters: ids, votersOutgoing: [], learners: [] });
    const host = this.#nodeHost(fail);
    this.nodes = ids.map(
      (id) =>
        new SimNode({
          id,
          host,
          initial,
          ...(options.disk ? { disk: options.disk(id, initial) } : {}),
          stateMachine: options.stateMachine ?? (() => new KvStateMachine()),
          snapshotEvery: this.mix.snapshotEvery,
          coreInvariants: options.coreInvariants ?? true,
        }),
    );
    for (const node of this.nodes) this.#byId.set(node.id, node);
    this.#partitions = new Partitions(ids);
    this.#clients = new Clients(
      {
        random: this.#random,
        checker: this.#checker,
        nodes: this.nodes,
        clock: () => this.#now,
        record: (event) => this.#record(event),
      },
      options.clients ?? 3,
      4 * this.#raft.electionTicks,
    );
  }

  /** The logical clock, in ticks. */
  get now(): number {
    return this.#now;
  }

  /** Every client operation so far, with invoke and response times on the logical clock. */
  get history(): readonly Operation[] {
    return this.#clients.history;
  }

  /** The last events, one compact line each. */
  trace(): string[] {
    return this.#trace.lines();
  }

  /** Runs `ticks` ticks with the mix's faults on, checking safety after every step. */
  async run(ticks: number): Promise<void> {
    await this.#guarded(async () => {
      this.#faults = true;
      for (let k = 0; k < ticks; k++) await this.#tick();
    });
  }

  /**
   * Heals every fault (all nodes up, the network whole and lossless; delays and fsync times
   * stay), then checks liveness: a stable leader within `bounds.election` ticks, and each of a
   * few proposals to it applied by it within `bounds.commit` ticks.
   */
  async check(): Promise<LivenessReport> {
    return this.#guarded(async () => {
      await this.#heal();
      const healedAt = this.#now;
      // A leader that survived the partition may still be deposed by CheckQuorum right after the
      // heal (its quorum window mostly fell inside the partition); that is correct. So a leader
      // counts as elected once every node has followed it, in one term, for a whole CheckQuorum
      // period plus one election timeout: its next quorum check sees the healed network.
      const settle = 2 * this.#raft.electionTicks;
      let leader = this.#stableLeader();
      let stableSince = this.#now;
      while (leader === null || this.#now - stableSince < settle) {
        if (this.#now - healedAt >= this.bounds.election + settle) {
          this.#fail(
            'NoLeader',
            `no stable leader ${this.bounds.election} ticks after healing: ${this.#describeRoles()}`,
          );
        }
        await this.#tick();
        const next = this.#stableLeader();
        if (next === null || next.node !== leader?.node || next.term !== leader.term) stableSince = this.#now;
        leader = next;
      }
      const electedAfter = stableSince - healedAt;
      const commitLatencies: number[] = [];
      for (let k = 0; k < livenessProbes; k++) commitLatencies.push(await this.#probeCommit(leader.node, k));
      return { electedAfter, leader: leader.node.id, commitLatencies, bounds: this.bounds };
    });
  }

  async #guarded<T>(body: () => Promise<T>): Promise<T> {
    if (this.#failure !== null) throw this.#failure;
    try {
      if (!this.#started) {
        this.#started = true;
        for (const node of this.nodes) await this.#boot(node);
      }
      return await body();
    } catch (error) {
      const failure =
        error instanceof SimulationFailure
          ? error
          : new SimulationFailure('CoreError', String(error), { seed: this.seed, time: this.#now }, error);
      failure.trace = this.#trace.lines();
      this.#failure = failure;
      throw failure;
    }
  }

  #fail(kind: FailureKind, detail: string): never {
    throw new SimulationFailure(kind, detail, { seed: this.seed, time: this.#now });
  }

  #record(event: TraceEvent): void {
    this.#trace.record(this.#now, event);
  }

  #nodeHost(fail: Fail): NodeHost {
    return {
      checker: this.#checker,
      fail,
      send: (message) => this.#send(message),
      fsyncDelay: () => this.#random.int(0, this.mix.maxFsyncDelay),
      schedulePersist: (node, delay) =>
        this.#queue.push(this.#now + delay, { kind: 'persisted', node, life: node.incarnation }),
      record: (event) => this.#record(event),
      onApplied: (node, entry) => this.#onApplied(node, entry),
      onReadStates: (node, states) => this.#onReadStates(node, states),
    };
  }

  async #boot(node: SimNode): Promise<void> {
    // Each incarnation draws its own election jitter seed from the run's generator.
    await node.start(
      { ...this.#raft, id: node.id, seed: this.#random.next32() },
      { mutations: this.#mutations },
    );
    await node.drain();
  }

  async #tick(): Promise<void> {
    this.#now++;
    if (this.#faults) await this.#injectFaults();
    for (const node of this.nodes) {
      if (!node.up) continue;
      node.tick();
      await node.drain();
    }
    this.#clients.act(this.mix.writeRate, this.mix.readRate);
    for (const node of this.nodes) if (node.up) await node.drain();
    for (
      let event = this.#queue.popDue(this.#now);
      event !== undefined;
      event = this.#queue.popDue(this.#now)
    ) {
      await this.#handle(event);
    }
  }

  async #handle(event: SimEvent): Promise<void> {
    switch (event.kind) {
      case 'deliver': {
        const { message } = event;
        const to = this.#byId.get(message.to)!;
        const from = this.#byId.get(message.from)!;
        if (!to.up || to.incarnation !== event.toLife || from.incarnation !== event.fromLife) {
          this.#record({ kind: 'drop', message, reason: 'crashed' });
        } else if (this.#partitions.isCut(message.from, message.to)) {
          this.#record({ kind: 'drop', message, reason: 'partition' });
        } else {
          this.#record({ kind: 'deliver', message });
          to.step(message);
          await to.drain();
        }
        return;
      }
      case 'persisted':
        if (event.node.incarnation === event.life) await event.node.completePersist();
        return;
      case 'restart':
        if (!event.node.up && event.node.incarnation === event.life) await this.#restart(event.node);
        return;
    }
  }

  #send(message: Message): void {
    const from = this.#byId.get(message.from);
    const to = this.#byId.get(message.to);
    if (from === undefined || to === undefined || message.from === message.to) {
      this.#fail('CoreError', `message with a bad route ${message.from}>${message.to} (${message.type})`);
    }
    if (this.#partitions.isCut(message.from, message.to)) {
      this.#record({ kind: 'drop', message, reason: 'partition' });
      return;
    }
    if (this.#faults && this.#random.chance(this.mix.loss)) {
      this.#record({ kind: 'drop', message, reason: 'loss' });
      return;
    }
    const copies = this.#faults && this.#random.chance(this.mix.duplication) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = this.#random.int(this.mix.minDelay, this.mix.maxDelay);
      this.#record(c === 0 ? { kind: 'send', message, delay } : { kind: 'duplicate', message });
      const event = { kind: 'deliver', message, fromLife: from.incarnation, toLife: to.incarnation } as const;
      this.#queue.push(this.#now + delay, event);
    }
  }

  async #injectFaults(): Promise<void> {
    const random = this.#random;
    const change = this.#partitions.update(this.#now);
    if (change !== null) this.#record({ kind: 'partition', detail: change });
    if (!this.#partitions.active && this.nodes.length > 1 && random.chance(this.mix.partition)) {
      const [low, high] = this.mix.partitionTicks;
      const leader = random.chance(this.mix.partitionLeader) ? this.#currentLeader() : null;
      const detail = this.#partitions.start(random, this.#now, this.#now + random.int(low, high), leader);
      this.#record({ kind: 'partition', detail });
    }
    for (const node of this.nodes) {
      if (!node.up) continue;
      const leading = this.mix.crashLeader > 0 && node.core.status().role === 'leader';
      if (!random.chance(this.mix.crash) && !(leading && random.chance(this.mix.crashLeader))) continue;
      await this.#crash(node);
      const [low, high] = this.mix.downTicks;
      this.#queue.push(this.#now + random.int(low, high), { kind: 'restart', node, life: node.incarnation });
    }
  }

  async #crash(node: SimNode): Promise<void> {
    if (this.#probe?.node === node) this.#probe = null;
    this.#clients.onCrash(node);
    await node.crash();
    this.#record({ kind: 'crash', node: node.id });
  }

  async #restart(node: SimNode): Promise<void> {
    this.#record({ kind: 'restart', node: node.id });
    await this.#boot(node);
  }

  async #heal(): Promise<void> {
    this.#faults = false;
    if (this.#partitions.active) {
      this.#partitions.heal();
      this.#record({ kind: 'partition', detail: 'healed' });
    }
    for (const node of this.nodes) if (!node.up) await this.#restart(node);
  }

  /** The up node that believes it leads in the highest term, if any. */
  #currentLeader(): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const node of this.nodes) {
      if (!node.up) continue;
      const status = node.core.status();
      if (status.role === 'leader' && (best === null || status.term > best.term)) best = status;
    }
    return best?.id ?? null;
  }

  /** A leader that every node follows, all in its term. */
  #stableLeader(): { node: SimNode; term: number } | null {
    const statuses = this.nodes.map((node) => node.core.status());
    const leader = statuses.find((s) => s.role === 'leader');
    if (leader === undefined) return null;
    const stable = statuses.every((s) => s.term === leader.term && s.leader === leader.id);
    return stable ? { node: this.#byId.get(leader.id)!, term: leader.term } : null;
  }

  #describeRoles(): string {
    return this.nodes
      .map((node) => {
        const s = node.core.status();
        return `${node.id}:${s.role}/t${s.term}/leader=${s.leader ?? '-'}/last=${s.lastIndex}/commit=${s.commitIndex}`;
      })
      .join(' ');
  }

  /** Proposes to `leader` and runs until it applies the proposal; returns the ticks that took. */
  async #probeCommit(leader: SimNode, k: number): Promise<number> {
    const data = new TextEncoder().encode(`probe=${k}`);
    const proposedAt = this.#now;
    let index: number;
    try {
      index = leader.core.propose(data);
    } catch (error) {
      if (!isRaftError(error)) throw error;
      return this.#fail('ProposalStuck', `stable leader ${leader.id} refused a proposal: ${error.code}`);
    }
    this.#record({ kind: 'note', detail: `liveness probe ${k} proposed to ${leader.id} @${index}` });
    const probe = { node: leader, index, data, committed: false };
    this.#probe = probe;
    await leader.drain();
    while (!probe.committed) {
      if (this.#now - proposedAt >= this.bounds.commit) {
        this.#fail(
          'ProposalStuck',
          `proposal @${index} to ${leader.id} not applied ${this.bounds.commit} ticks later: ${this.#describeRoles()}`,
        );
      }
      await this.#tick();
    }
    this.#probe = null;
    return this.#now - proposedAt;
  }

  #onApplied(node: SimNode, entry: Entry): void {
    this.#clients.onApplied(node, entry);
    const probe = this.#probe;
    if (probe !== null && probe.node === node && probe.index === entry.index) {
      if (!bytesEqual(probe.data, entry.data)) {
        this.#fail('ProposalStuck', `proposal @${probe.index} to ${node.id} was replaced by another entry`);
      }
      probe.committed = true;
    }
  }

  #onReadStates(node: SimNode, states: readonly ReadState[]): void {
    this.#clients.onReadStates(node, states);
  }
}
