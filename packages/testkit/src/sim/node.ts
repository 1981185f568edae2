import type {
  Entry,
  ForwardedProposal,
  Message,
  NodeId,
  PersistedState,
  RaftConfig,
  RawNodeOptions,
  ReadState,
  Ready,
  Snapshot,
} from '@raftkit/core';
import { index, RawNode } from '@raftkit/core';
import type { ApplyCursor, Fail, SafetyChecker } from './checker.ts';
import { emptyDigest } from './digest.ts';
import type { DiskWrite, NodeDisk } from './disk.ts';
import { DiskContractError, MemoryDisk } from './disk.ts';
import { unwrapSnapshot, wrapSnapshot } from './envelope.ts';
import type { SimStateMachine } from './state-machine.ts';
import type { TraceEvent } from './trace.ts';

/** What a node needs from the simulation around it. */
export interface NodeHost {
  readonly checker: SafetyChecker;
  readonly fail: Fail;
  send(message: Message): void;
  /** Draws this write's simulated fsync time; 0 completes it at once. */
  fsyncDelay(): number;
  /** Calls `node.completePersist()` after `delay` ticks, unless the node crashes first. */
  schedulePersist(node: SimNode, delay: number): void;
  record(event: TraceEvent): void;
  onApplied(node: SimNode, entry: Entry): void;
  onReadStates(node: SimNode, states: readonly ReadState[]): void;
  /** Called before the Ready's entries apply: an answer and its commit may arrive together. */
  onForwarded(node: SimNode, outcomes: readonly ForwardedProposal[]): void;
}

export interface NodeSetup {
  readonly id: NodeId;
  readonly host: NodeHost;
  /** The node's durable state at first boot (`bootstrapState(...)`). */
  readonly initial: PersistedState;
  /** The real disk, when not the simulated one. */
  readonly disk?: NodeDisk;
  readonly stateMachine: () => SimStateMachine;
  /** Take a snapshot and compact every this many applied entries (0: never). */
  readonly snapshotEvery: number;
  /** Call the core's `assertInvariants()` after every call into it. */
  readonly coreInvariants: boolean;
}

/** The core's test-only hooks, when it has them. */
interface Checkable {
  assertInvariants?(): void;
}

/**
 * One simulated server: a core, its disk and its state machine, following the Ready contract
 * (packages/core/src/ready.ts) to the letter. A crash throws away everything but the disk.
 */
export class SimNode {
  readonly id: NodeId;
  /**
   * What this node has made durable: the disk itself in simulated-disk mode, and a reference
   * copy that a real disk's recovery is compared against otherwise. The checker reads it.
   */
  readonly durable: MemoryDisk;
  readonly #disk: NodeDisk;
  readonly #host: NodeHost;
  readonly #makeStateMachine: () => SimStateMachine;
  readonly #snapshotEvery: number;
  readonly #coreInvariants: boolean;

  #core: RawNode | null = null;
  /** Bumped by each crash; work scheduled by an earlier incarnation is void. */
  #incarnation = 0;
  /** The core's log as handed out in Ready so far, persisted or not: what a leader really holds. */
  #log: MemoryDisk;
  /** The Ready whose simulated fsync is under way; the next Ready waits for it. */
  #persisting: Ready | null = null;
  #stateMachine: SimStateMachine;
  readonly cursor: ApplyCursor = { index: 0, digest: emptyDigest };
  #lastSnapshot = 0;
  /** This node's commit index as of its last Ready: entries up to it are claimed committed. */
  #commitIndex = 0;
  #role = 'follower';
  #term = 0;
  /** The term this incarnation was last seen becoming leader in, checked the moment it happens. */
  #electedTerm = -1;

  constructor(setup: NodeSetup) {
    this.id = setup.id;
    this.#host = setup.host;
    this.durable = new MemoryDisk(setup.initial);
    this.#disk = setup.disk ?? this.durable;
    this.#makeStateMachine = setup.stateMachine;
    this.#snapshotEvery = setup.snapshotEvery;
    this.#coreInvariants = setup.coreInvariants;
    this.#log = this.durable;
    this.#stateMachine = setup.stateMachine();
  }

  get up(): boolean {
    return this.#core !== null;
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  get core(): RawNode {
    if (this.#core === null) throw new Error(`${this.id} is down`);
    return this.#core;
  }

  get stateMachine(): SimStateMachine {
    return this.#stateMachine;
  }

  /** Boots (or reboots) from the disk: only what was persisted survives. */
  async start(config: RaftConfig, options: RawNodeOptions): Promise<void> {
    const state = await this.#disk.load();
    if (this.#disk !== this.durable) this.#compareRecovered(state);
    this.#log = new MemoryDisk(state);
    this.#stateMachine = this.#makeStateMachine();
    const envelope = state.snapshot === null ? null : unwrapSnapshot(state.snapshot.data);
    if (envelope !== null) this.#stateMachine.restore(envelope.state);
    this.cursor.index = envelope?.index ?? 0;
    this.cursor.digest = envelope?.digest ?? emptyDigest;
    this.#lastSnapshot = this.cursor.index;
    this.#commitIndex = Math.max(state.hardState.commitIndex, this.#log.snapshotIndex);
    this.#role = 'follower';
    this.#term = state.hardState.term;
    this.#electedTerm = -1;
    this.#core = this.#guard(() => new RawNode(config, state, options));
  }

  /** The process dies: its core, state machine, unsynced writes and pending work are gone. */
  async crash(): Promise<void> {
    this.#core = null;
    this.#persisting = null;
    this.#incarnation++;
    await this.#disk.close();
  }

  /** Advances the node's core by one tick, then checks election safety. */
  tick(): void {
    this.#guard(() => this.core.tick());
    this.#checkElection();
  }

  /** Delivers `message` to the node's core, then checks election safety. */
  step(message: Message): void {
    this.#guard(() => this.core.step(message));
    this.#checkElection();
  }

  /**
   * Elections are checked as they happen, not at the next Ready: by then an operator may have
   * changed the membership the election was won under. Only ticks and messages elect.
   */
  #checkElection(): void {
    const core = this.core;
    if (core.role !== 'leader' || core.term === this.#electedTerm) return;
    this.#electedTerm = core.term;
    this.#host.checker.observeElected(this.id, core.term, core.status().membership);
  }

  /** Runs a call into the core and its invariant check; anything it throws is a failure. */
  #guard<T>(call: () => T): T {
    try {
      const result = call();
      if (this.#coreInvariants) (this.#core as Checkable | null)?.assertInvariants?.();
      return result;
    } catch (error) {
      return this.#host.fail('CoreError', `${this.id}: ${String(error)}`);
    }
  }

  /** Handles every Ready the core has, unless a simulated fsync holds the next one back. */
  async drain(): Promise<void> {
    while (this.#core !== null && this.#persisting === null && this.#core.hasReady()) {
      const ready = this.#guard(() => this.core.ready());
      this.#observe(ready);
      // Step 1: leader replication may leave before its own write is durable (thesis §10.2.1).
      for (const message of ready.messages) this.#send(message);
      const durable = ready.snapshot !== null || ready.entries.length > 0 || ready.hardState !== null;
      const delay = durable ? this.#host.fsyncDelay() : 0;
      if (delay > 0) {
        this.#persisting = ready;
        this.#host.schedulePersist(this, delay);
        return;
      }
      await this.#finish(ready);
    }
  }

  #send(message: Message): void {
    this.#host.checker.observeSend(this.id, message, this.durable.hardState.term);
    this.#host.send(message);
  }

  /** The simulated fsync of the held-back Ready completed. */
  async completePersist(): Promise<void> {
    const ready = this.#persisting;
    if (ready === null) return;
    this.#persisting = null;
    await this.#finish(ready);
    await this.drain();
  }

  /** Role, term, commits and, for a leader, Leader Completeness, as of a fresh Ready. */
  #observe(ready: Ready): void {
    this.#applyToLog(this.#log, ready);
    const status = this.core.status();
    const commitIndex = ready.hardState?.commitIndex ?? this.#commitIndex;
    for (let i = Math.max(this.#commitIndex, this.#log.snapshotIndex) + 1; i <= commitIndex; i++) {
      const entry = this.#log.entryAt(i);
      if (entry === undefined)
        this.#host.fail('CoreError', `${this.id} commit index ${commitIndex} is past its log`);
      this.#host.checker.observeCommitted(this.id, entry, status.term);
    }
    this.#commitIndex = Math.max(this.#commitIndex, commitIndex);
    if (status.role !== this.#role || status.term !== this.#term) {
      this.#role = status.role;
      this.#term = status.term;
      this.#host.record({ kind: 'role', node: this.id, role: status.role, term: status.term });
    }
    if (status.role === 'leader') this.#host.checker.observeLeaderLog(this.id, status.term, this.#log);
  }

  #applyToLog(log: MemoryDisk, write: DiskWrite): void {
    try {
      log.persist(write);
    } catch (error) {
      if (error instanceof DiskContractError) this.#host.fail('CoreError', `${this.id}: ${error.message}`);
      throw error;
    }
  }

  /** Steps 2 to 5 of the Ready contract, then `advance()`. */
  async #finish(ready: Ready): Promise<void> {
    const { checker } = this.#host;
    const incarnation = this.#incarnation;
    if (ready.snapshot !== null || ready.entries.length > 0 || ready.hardState !== null) {
      checker.checkOverwrite(this.id, this.durable, ready.entries);
      if (this.#disk !== this.durable) await this.#disk.persist(ready);
      if (incarnation !== this.#incarnation) return;
      this.#applyToLog(this.durable, ready);
      checker.observePersist(this.id, this.durable, ready.entries);
      if (ready.hardState !== null) checker.observeHardState(this.id, ready.hardState);
      this.#host.record({ kind: 'persist', node: this.id, detail: describeWrite(ready) });
    }
    // The Ready's role and term (`#observe` saw them) are durable now: a leader counts as one.
    if (this.#role === 'leader') checker.observeLeader(this.id, this.#term);
    for (const message of ready.messagesAfterPersist) {
      if (message.type === 'RequestVoteResponse' && message.granted && !message.preVote) {
        checker.observeVoteSent(this.id, message.term, message.to, this.durable.hardState.term);
      }
      this.#send(message);
    }
    if (ready.forwarded.length > 0) this.#host.onForwarded(this, ready.forwarded);
    if (ready.snapshot !== null) this.#restore(ready.snapshot);
    if (ready.committedEntries.length > 0) {
      for (const entry of ready.committedEntries) {
        checker.observeApply(this.id, this.cursor, entry, this.#term);
        this.#stateMachine.apply(entry);
        this.#host.onApplied(this, entry);
      }
      const first = ready.committedEntries[0]!.index;
      this.#host.record({ kind: 'apply', node: this.id, first, last: this.cursor.index });
    }
    this.#guard(() => this.core.advance());
    if (ready.readStates.length > 0) this.#host.onReadStates(this, ready.readStates);
    await this.#compactIfDue();
  }

  #restore(snapshot: Snapshot): void {
    const envelope = unwrapSnapshot(snapshot.data);
    if (envelope === null || envelope.index !== snapshot.meta.index) {
      this.#host.fail(
        'SnapshotMismatch',
        `${this.id} got a snapshot at ${snapshot.meta.index} with data of another index`,
      );
    }
    this.#host.checker.observeRestore(this.id, this.cursor, snapshot.meta, envelope.digest);
    this.#stateMachine.restore(envelope.state);
    this.#lastSnapshot = snapshot.meta.index;
    this.#host.record({ kind: 'snapshot', node: this.id, index: snapshot.meta.index, restored: true });
  }

  /** The application's side of log compaction: snapshot, store durably, then tell the core. */
  async #compactIfDue(): Promise<void> {
    if (this.#snapshotEvery === 0 || this.cursor.index - this.#lastSnapshot < this.#snapshotEvery) return;
    const at = this.cursor.index;
    // A newer snapshot from the leader may already have replaced the core's log past `at` (it
    // is restored by a Ready still to come): the core no longer knows `at`, so skip this one.
    if (at < this.core.status().firstIndex - 1) return;
    const state = this.#stateMachine.snapshot();
    this.#host.checker.observeSnapshotTaken(this.id, at, state);
    const meta = this.#guard(() => this.core.snapshotMetaAt(index(at)));
    const snapshot: Snapshot = { meta, data: wrapSnapshot({ index: at, digest: this.cursor.digest, state }) };
    const incarnation = this.#incarnation;
    if (this.#disk !== this.durable) await this.#disk.saveSnapshot(snapshot);
    if (incarnation !== this.#incarnation) return;
    this.durable.saveSnapshot(snapshot);
    this.#log.saveSnapshot(snapshot);
    this.#lastSnapshot = at;
    this.#guard(() => this.core.compact(snapshot));
    this.#host.record({ kind: 'snapshot', node: this.id, index: at, restored: false });
  }

  /** A real store must give back exactly what the reference copy says was persisted. */
  #compareRecovered(state: PersistedState): void {
    const expected = this.durable.load();
    // Field by field: a store may give back the same values with its keys in another order.
    const describe = ({ hardState: h, snapshot, entries }: PersistedState) =>
      JSON.stringify({
        hardState: [h.term, h.votedFor, h.commitIndex],
        snapshot:
          snapshot === null
            ? null
            : [
                snapshot.meta.index,
                snapshot.meta.term,
                snapshot.meta.membership.voters,
                snapshot.meta.membership.votersOutgoing,
                snapshot.meta.membership.learners,
              ],
        log: entries.map((e) => `${e.index}/${e.term}`),
      });
    if (describe(state) !== describe(expected)) {
      this.#host.fail(
        'CoreError',
        `${this.id} recovered ${describe(state)} from storage, persisted ${describe(expected)}`,
      );
    }
  }
}

function describeWrite(write: DiskWrite): string {
  const parts: string[] = [];
  if (write.snapshot !== null) parts.push(`snap@${write.snapshot.meta.index}/${write.snapshot.meta.term}`);
  const first = write.entries[0];
  if (first !== undefined) {
    const last = write.entries[write.entries.length - 1]!;
    parts.push(`log[${first.index}/${first.term}..${last.index}/${last.term}]`);
  }
  if (write.hardState !== null) {
    const hs = write.hardState;
    parts.push(`hs(t${hs.term} vote=${hs.votedFor ?? '-'} commit=${hs.commitIndex})`);
  }
  return parts.join(' ');
}
