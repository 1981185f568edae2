import type {
  Entry,
  Message,
  Mutations,
  NodeId,
  PersistedState,
  RaftConfig,
  ReadState,
  Status,
} from '@raftkit/core';
import { bootstrapState, isRaftError, joiningState, nodeId } from '@raftkit/core';
import { checkLinearizable } from '../linearizability/kv-check.ts';
import type { Fail } from './checker.ts';
import { SafetyChecker } from './checker.ts';
import type { Operation } from './clients.ts';
import { Clients } from './clients.ts';
import { bytesEqual } from './digest.ts';
import type { NodeDisk } from './disk.ts';
import type { FailureKind } from './failure.ts';
import { SimulationFailure } from './failure.ts';
import { toKvHistory } from './history.ts';
import type { LivenessBounds } from './liveness.ts';
import { livenessBounds } from './liveness.ts';
import type { FaultMix, MixName } from './mixes.ts';
import { mixByName } from './mixes.ts';
import type { NodeHost } from './node.ts';
import { SimNode } from './node.ts';
import type { ReconfigurationStats } from './operator.ts';
import { Operator } from './operator.ts';
import { Partitions } from './partitions.ts';
import { EventQueue } from './queue.ts';
import { Random } from './random.ts';
import type { SimStateMachine } from './state-machine.ts';
import { KvStateMachine } from './state-machine.ts';
import type { TraceEvent } from './trace.ts';
import { Trace } from './trace.ts';
import type { TransferStats } from './transfers.ts';
import { Transfers } from './transfers.ts';

/** Core settings the simulation may override; `id` and `seed` are the simulation's to choose. */
export type SimRaftConfig = Omit<RaftConfig, 'id' | 'seed'>;

/** What a simulation run is: its seed, cluster and fault mix. Everything else follows from the seed. */
export interface SimulationOptions {
  /** Decides every random choice of the run: the same seed replays the same run. */
  readonly seed: number;
  /**
   * Founding voters; default 3. The mix's `joiningNodes` more start outside the cluster
   * (`joiningState()`), named after the founders, for the operator to add.
   */
  readonly nodes?: number;
  /** A named fault mix (see `mixes`) or your own. */
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
  /**
   * Check each read index against what was committed when the read began (default true). Off,
   * a stale read is left for the linearizability check of the history to find.
   */
  readonly checkReadIndex?: boolean;
}

/** What `check()` measured, in ticks after faults healed. */
export interface LivenessReport {
  readonly electedAfter: number;
  readonly leader: NodeId;
  readonly commitLatencies: readonly number[];
  readonly bounds: LivenessBounds;
  /** The election bound that applied: `bounds.electionEvenVoters` if a voter set was of even size. */
  readonly electionBound: number;
  /** Client operations the linearizability checker was given (stale reads and failures left out). */
  readonly checkedOperations: number;
}

/** What happened in a run besides faults: the operator's actions and the clients' outcomes. */
export interface SimStats {
  readonly reconfiguration: ReconfigurationStats & {
    /** Configuration entries some node applied (the founding one left out). */
    readonly applied: number;
  };
  readonly transfers: TransferStats;
  readonly clients: {
    /** Completed operations by kind (`write`, `cas`, reads by mode). */
    readonly ok: Readonly<Record<string, number>>;
    readonly unknown: number;
    readonly failed: number;
    /** Refusals by code. */
    readonly refused: Readonly<Record<string, number>>;
  };
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
 * Wall-clock budget for the linearizability check of one run's history. The simulator's
 * histories take milliseconds; running out is reported (`HistoryUnchecked`), never passed.
 */
const historyCheckMs = 30_000;

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
  readonly #operator: Operator;
  readonly #transfers: Transfers;
  /** Indexes of configuration entries any node applied. */
  readonly #configsApplied = new Set<number>();
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
    const ids = Array.from({ length: size + this.mix.joiningNodes }, (_, k) => nodeId(`n${k + 1}`));
    const founding = bootstrapState({ voters: ids.slice(0, size), votersOutgoing: [], learners: [] });
    const joining = joiningState();
    const host = this.#nodeHost(fail);
    this.nodes = ids.map((id, k) => {
      const initial = k < size ? founding : joining;
      return new SimNode({
        id,
        host,
        initial,
        ...(options.disk ? { disk: options.disk(id, initial) } : {}),
        stateMachine: options.stateMachine ?? (() => new KvStateMachine()),
        snapshotEvery: this.mix.snapshotEvery,
        coreInvariants: options.coreInvariants ?? true,
      });
    });
    for (const node of this.nodes) this.#byId.set(node.id, node);
    this.#partitions = new Partitions(ids);
    this.#clients = new Clients(
      {
        random: this.#random,
        checker: this.#checker,
        fail,
        nodes: this.nodes,
        clock: () => this.#now,
        record: (event) => this.#record(event),
        checkReadIndex: options.checkReadIndex ?? true,
      },
      options.clients ?? 3,
      4 * this.#raft.electionTicks,
    );
    const record = (event: TraceEvent) => this.#record(event);
    this.#operator = new Operator({ random: this.#random, nodes: this.nodes, record }, Math.min(size, 3));
    this.#transfers = new Transfers(
      {
        random: this.#random,
        nodes: this.nodes,
        checker: this.#checker,
        fail,
        clock: () => this.#now,
        record,
      },
      this.#raft.electionTicks,
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

  /** What the operator did and how the clients fared, so far. */
  stats(): SimStats {
    const ok: Record<string, number> = {};
    let unknown = 0;
    let failed = 0;
    for (const op of this.history) {
      if (op.outcome === 'ok') {
        const kind = op.mode !== null ? `${op.mode} read` : op.forwarded ? `${op.kind} forwarded` : op.kind;
        ok[kind] = (ok[kind] ?? 0) + 1;
      } else if (op.outcome === 'unknown') unknown++;
      else if (op.outcome === 'failed') failed++;
    }
    return {
      reconfiguration: { ...this.#operator.stats(), applied: this.#configsApplied.size },
      transfers: this.#transfers.stats(),
      clients: { ok, unknown, failed, refused: Object.fromEntries(this.#clients.refusals) },
    };
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
   * stay; the operator stops), then checks liveness: a stable leader of the final configuration
   * within `bounds.election` ticks, and each of a few proposals to it applied by it within
   * `bounds.commit` ticks. Last, the clients' history must be linearizable.
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
      let electionBound = this.bounds.election;
      while (leader === null || this.#now - stableSince < settle) {
        if (this.#someVoterSetIsEven()) electionBound = this.bounds.electionEvenVoters;
        if (this.#now - healedAt >= electionBound + settle) {
          this.#fail(
            'NoLeader',
            `no stable leader ${electionBound} ticks after healing: ${this.#describeRoles()}`,
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
      const checkedOperations = this.#checkHistory();
      return {
        electedAfter,
        leader: leader.node.id,
        commitLatencies,
        bounds: this.bounds,
        electionBound,
        checkedOperations,
      };
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
      onForwarded: (node, outcomes) => this.#clients.onForwarded(node, outcomes),
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
    this.#clients.act(this.mix);
    if (this.#faults && this.#random.chance(this.mix.reconfigure)) this.#operator.reconfigure();
    if (this.#faults && this.#random.chance(this.mix.transfer)) this.#transfers.start();
    this.#transfers.watch();
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

  /**
   * A leader that every member of its configuration follows, all in its term; the configuration
   * is final (not joint) and counts the leader among its voters. Nodes outside it (removed, or
   * never added) are ignored: they run on, and must merely not disturb it.
   */
  /** Whether some node's configuration has a voter set where two candidates can split a vote. */
  #someVoterSetIsEven(): boolean {
    return this.nodes.some((node) => {
      const { voters, votersOutgoing } = node.core.status().membership;
      return voters.length % 2 === 0 || (votersOutgoing.length > 0 && votersOutgoing.length % 2 === 0);
    });
  }

  #stableLeader(): { node: SimNode; term: number } | null {
    const statuses = new Map(this.nodes.map((node) => [node.id, node.core.status()]));
    let leader: Status | null = null;
    for (const s of statuses.values()) {
      if (s.role === 'leader' && (leader === null || s.term > leader.term)) leader = s;
    }
    if (leader === null) return null;
    const { voters, votersOutgoing, learners } = leader.membership;
    if (votersOutgoing.length > 0 || !voters.includes(leader.id)) return null;
    const stable = [...voters, ...learners].every((id) => {
      const s = statuses.get(id)!;
      return s.term === leader.term && s.leader === leader.id;
    });
    return stable ? { node: this.#byId.get(leader.id)!, term: leader.term } : null;
  }

  /** The clients' history (stale reads aside) must be linearizable; returns its size. */
  #checkHistory(): number {
    const history = toKvHistory(this.history);
    const verdict = checkLinearizable(history, { timeoutMs: historyCheckMs });
    if (verdict.ok === 'unknown') {
      this.#fail('HistoryUnchecked', `the linearizability check of ${history.length} operations timed out`);
    }
    if (!verdict.ok) this.#fail('NotLinearizable', verdict.reason);
    return history.length;
  }

  #describeRoles(): string {
    return this.nodes
      .map((node) => {
        const s = node.core.status();
        const { voters, votersOutgoing, learners } = s.membership;
        const config = `voters=${voters.join(',') || '-'}${votersOutgoing.length > 0 ? `&${votersOutgoing.join(',')}` : ''}${learners.length > 0 ? `+learners=${learners.join(',')}` : ''}`;
        return `${node.id}:${s.role}/t${s.term}/leader=${s.leader ?? '-'}/last=${s.lastIndex}/commit=${s.commitIndex}/${config}`;
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
    if (entry.type === 'config' && entry.index > 1) this.#configsApplied.add(entry.index);
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
