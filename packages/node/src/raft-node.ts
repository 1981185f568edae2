import { setImmediate } from 'node:timers';
import type {
  ConfigChange,
  Entry,
  HardState,
  Index,
  Message,
  NodeId,
  PersistedState,
  Ready,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
  Storage,
  StorageWrite,
  Term,
  Transport,
  TransportHandler,
} from '@raftkit/core';
import { decodeConfigChange, isRaftError, isStorageError, RaftError, RawNode } from '@raftkit/core';
import { CommitNotices } from './commit-notices.ts';
import type { SnapshotEnvelope } from './envelope.ts';
import { envelopeHeader, unwrapSnapshot } from './envelope.ts';
import { RaftNodeError } from './errors.ts';
import { Emitter, type RaftNodeEvent, type RaftNodeEvents } from './events.ts';
import { ForwardedProposals } from './forwarded-proposals.ts';
import { loadInitialState } from './initial-state.ts';
import { encodeUrlContext, MemberUrls } from './member-urls.ts';
import { MetricsRecorder, type RaftNodeMetrics } from './metrics.ts';
import { type RaftNodeOptions, type ResolvedOptions, resolveOptions, type StateMachine } from './options.ts';
import { type Applied, PendingProposals } from './proposals.ts';
import { ReadRounds } from './read-rounds.ts';
import { PendingReads } from './reads.ts';
import { isSnapshotStream } from './snapshot-stream.ts';
import { snapshotHooks } from './snapshot-transfer.ts';

/**
 * What `read` waits for: `linearizable` confirms leadership with a majority (thesis §6.4) and waits until
 * this node applied up to that read index; `lease` trusts the leader lease instead of the round trip
 * (bounded clock drift assumed); `stale` returns at once with whatever this node has applied.
 */
export type ReadConsistency = 'linearizable' | 'lease' | 'stale';

/**
 * One member as this node knows it: its URL once the log or a snapshot named it, its role, and (on the
 * leader) how far it has replicated.
 */
export interface MemberStatus {
  readonly id: NodeId;
  readonly url: string | null;
  readonly role: 'voter' | 'learner';
  /** Known on the leader only: the highest index replicated to this member. */
  readonly matchIndex: number | null;
  /** Known on the leader only, for the others: entries in the leader's log this member lacks. */
  readonly lag: number | null;
  /**
   * Known on the leader only, for the others: whole milliseconds since a message from this member
   * last arrived (null until one has).
   */
  readonly lastContactMs: number | null;
}

/** A point-in-time view of this node for status endpoints and tests. */
export interface NodeStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly leader: NodeId | null;
  readonly leaderUrl: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  readonly members: readonly MemberStatus[];
  /** Set while this leader hands leadership over. */
  readonly leadTransferee: NodeId | null;
  readonly state: 'running' | 'stopping' | 'stopped';
}

/** Proposals forwarded in one Propose, in bytes (a bigger single one travels alone). */
const FORWARD_BATCH_BYTES = 256 * 1024;

interface Transfer {
  readonly to: NodeId;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A running Raft node: the core, its storage, the transport and the application's state machine,
 * driven by the Ready loop. See README.md for the loop and why its order is what it is.
 */
export class RaftNode {
  readonly id: NodeId;
  readonly #options: ResolvedOptions;
  readonly #core: RawNode;
  readonly #storage: Storage;
  readonly #transport: Transport;
  readonly #stateMachine: StateMachine;
  readonly #urls: MemberUrls;
  readonly #proposals: PendingProposals;
  readonly #reads: PendingReads;
  readonly #readRounds: ReadRounds;
  /** This follower's proposals on their way to the leader, until it says where it put them. */
  readonly #forwarded: ForwardedProposals;
  #forwardsScheduled = false;
  /** Which outgoing messages may wait for company in the transport. */
  readonly #commitNotices = new CommitNotices();
  readonly #metrics = new MetricsRecorder();
  readonly #events: Emitter;
  /** When a message from each peer last arrived (clock ms): the leader's view of who is alive. */
  readonly #lastContact = new Map<NodeId, number>();

  #state: 'running' | 'stopping' | 'stopped' = 'running';
  #stopped: Promise<void> | null = null;
  #fatal: RaftNodeError | null = null;
  #cancelTicks: (() => void) | null = null;
  /** A Ready loop is scheduled or running; at most one at a time, so Readys are handled in order. */
  #loop: Promise<void> | null = null;
  #incomingThisTick = 0;
  /** When the core last ticked, on the clock's scale: the core's time is caught up from it. */
  #tickedAt = 0;
  #applied: number;
  #snapshotIndex: number;
  #bytesSinceSnapshot = 0;
  /** Our own snapshot on its way to storage, off the Ready loop; at most one at a time. */
  #snapshotSave: Promise<void> | null = null;
  /** A snapshot of ours now stored, whose log prefix the core may drop at the loop's next turn. */
  #snapshotStored: SnapshotMeta | null = null;
  /** The applied index `snapshotNow` asked a snapshot at: the loop takes one until it is reached. */
  #snapshotWanted = 0;
  /** `snapshotNow` callers, woken whenever the stored snapshot may have changed, and at shutdown. */
  #snapshotWaiters: (() => void)[] = [];
  #role: Role;
  #leader: NodeId | null;
  #transfer: Transfer | null = null;
  /** The latest hard state whose only change, the commit index, is not stored yet (see #persist). */
  #unsavedHardState: HardState | null = null;

  /** Loads (or creates) the node's state from storage and starts ticking. Closes storage if it fails. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const resolved = resolveOptions(options);
    try {
      const initial = await loadInitialState(
        resolved.id,
        resolved.storage,
        resolved.stateMachine,
        resolved.bootstrap,
      );
      const node = new RaftNode(resolved, initial.persisted, initial.envelope);
      node.#begin();
      return node;
    } catch (error) {
      await resolved.storage.close();
      throw error;
    }
  }

  private constructor(options: ResolvedOptions, persisted: PersistedState, envelope: SnapshotEnvelope) {
    this.id = options.id;
    this.#options = options;
    this.#storage = options.storage;
    this.#transport = options.transport;
    this.#stateMachine = options.stateMachine;
    this.#core = new RawNode(
      {
        id: options.id,
        electionTicks: options.electionTicks,
        heartbeatTicks: options.heartbeatTicks,
        seed: options.seed,
        logger: options.logger,
      },
      { ...persisted, snapshot: persisted.snapshot === null ? null : dataless(persisted.snapshot.meta) },
    );
    const snapshotIndex = persisted.snapshot?.meta.index ?? 0;
    this.#applied = snapshotIndex;
    this.#snapshotIndex = snapshotIndex;
    this.#role = this.#core.role;
    this.#leader = this.#core.leader;
    this.#events = new Emitter((error) =>
      options.logger.warn('event listener threw', { error: String(error) }),
    );
    for (const [id, url] of Object.entries(options.peers)) {
      if (id !== this.id) this.#transport.setPeer(id as NodeId, url);
    }
    this.#urls = new MemberUrls(this.id, this.#transport);
    this.#urls.restore(envelope.urls);
    // Config entries are in force from the moment they are in the log, applied or not.
    for (const entry of persisted.entries) {
      if (entry.type === 'config') this.#urls.appended(decodeConfigChange(entry.data));
    }
    const failed = () => this.#metrics.counters.proposalsFailed++;
    this.#proposals = new PendingProposals(options.maxPendingProposals, failed);
    this.#forwarded = new ForwardedProposals(
      {
        track: (index, term, deadline) => this.#proposals.add(index, term, deadline),
        applied: () => this.#applied as Index,
        refused: (code) =>
          code === 'NotLeader'
            ? this.#notLeader(this.#core.leader)
            : new RaftNodeError(code, `the leader refused the forwarded proposal: ${code}`, {
                leader: this.#core.leader,
              }),
        onFailed: failed,
      },
      // A batch of at most one entry's worth fits any message the transport carries.
      Math.min(FORWARD_BATCH_BYTES, this.#transport.maxEntryBytes ?? FORWARD_BATCH_BYTES),
    );
    this.#readRounds = new ReadRounds(
      (requestId, mode) => this.#core.readIndex(requestId, mode),
      options.tickMs,
    );
    this.#reads = new PendingReads(
      options.maxPendingReads,
      { timeoutMs: options.readTimeoutMs, retryMs: options.electionTicks * options.tickMs },
      (requestId, mode) => this.#readRounds.request(requestId, mode, this.#options.clock.now()),
      () => this.#metrics.counters.readsFailed++,
    );
  }

  #begin(): void {
    const hooks = snapshotHooks(
      this.#storage,
      (error) => this.#fail(error),
      () => this.#metrics.counters.snapshotsReceived++,
    );
    const handler: TransportHandler = {
      receive: (messages) => this.#receive(messages),
      ...hooks,
      snapshotDone: (to, _meta, ok) => {
        if (ok) this.#metrics.counters.snapshotsSent++;
        else this.#metrics.counters.snapshotsSendFailed++;
        if (this.#state !== 'running') return;
        // A failed transfer resumes probing at once instead of after an election timeout.
        this.#guard(() => this.#core.reportSnapshot(to, ok));
        this.#kick();
      },
    };
    this.#transport.register(this.#options.groupId, handler);
    this.#tickedAt = this.#options.clock.now();
    this.#cancelTicks = this.#options.clock.every(this.#options.tickMs, () => this.#tick());
    this.#kick();
  }

  // ---------------------------------------------------------------------------------------------
  // Public API

  /**
   * Replicates `data` and resolves with the state machine's result once it is applied here.
   * On a follower it goes to the leader with the Raft messages (`forwardProposals`). Rejects with a
   * `RaftNodeError`: `NotLeader`, `Busy`, `Dropped`, `TransferInProgress` (not applied) or
   * `Timeout`, `Stopped`, `Fatal` (outcome unknown). An aborted `signal` rejects with its reason;
   * the entry may still apply.
   */
  async propose(data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Applied> {
    if (!(data instanceof Uint8Array) || data.byteLength === 0) {
      throw new TypeError(
        'propose(data): data must be a non-empty Uint8Array (empty entries are the leader no-op)',
      );
    }
    this.#assertRunning();
    options.signal?.throwIfAborted();
    const limit = this.#transport.maxEntryBytes;
    if (limit !== undefined && data.byteLength > limit) {
      // Appended, it could never reach a follower, and every later entry would wait behind it.
      throw new RaftNodeError(
        'EntryTooLarge',
        `a ${data.byteLength}-byte entry is larger than the transport carries (${limit} bytes)`,
      );
    }
    this.#assertRoomForProposal();
    this.#metrics.counters.proposals++;
    if (this.#core.role !== 'leader') return this.#forward(data, options.signal);
    const index = this.#callCore(() => this.#core.propose(data));
    return this.#track(index, options.signal);
  }

  /**
   * Whether the local state machine may serve a read with that consistency right now, with no
   * wait: a stale read always, a lease read on a leader whose lease holds and that has applied
   * what it committed. When false, `await read(consistency)` instead. A true answer counts as a
   * read. The hot path of lease reads: no promise, no Ready, no round.
   */
  readNow(consistency: ReadConsistency): boolean {
    this.#assertRunning();
    if (consistency === 'linearizable') return false;
    if (consistency === 'lease') {
      // A lease is judged by the core's time: it must not lag the real one (a process paused or
      // starved past its timer would still believe in a lease that ran out meanwhile).
      this.#catchUpTicks();
      const index = this.#core.leaseReadIndex();
      if (index === null || index > this.#applied) return false;
    }
    this.#metrics.counters.reads++;
    return true;
  }

  /** Resolves when the local state machine may serve a read with that consistency. */
  async read(consistency: ReadConsistency, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertRunning();
    options.signal?.throwIfAborted();
    if (this.readNow(consistency)) return;
    this.#metrics.counters.reads++;
    this.#catchUpTicks(); // as in readNow: the core's time must not lag the real one
    // Fail fast, as a write does: with no leader known nothing can confirm the read.
    if (this.#core.leader === null) {
      this.#metrics.counters.readsFailed++;
      throw new RaftNodeError(
        'NotLeader',
        'no leader is known: the read cannot be confirmed; retry shortly',
        {
          leader: null,
        },
      );
    }
    const served = this.#reads.add(consistency === 'lease' ? 'lease' : 'quorum', this.#options.clock.now());
    this.#kick();
    return withSignal(served, options.signal);
  }

  /** Adds a member as a voter or a learner (leader only); resolves once the change is applied here. */
  async addMember(id: NodeId, url: string, role: 'voter' | 'learner'): Promise<void> {
    if (typeof url !== 'string' || url.length === 0)
      throw new TypeError('addMember(url): url must be a non-empty string');
    return this.#changeMembership({
      changes: [{ kind: role === 'voter' ? 'addVoter' : 'addLearner', id }],
      context: encodeUrlContext({ [id]: url }),
    });
  }

  /** Makes a learner a voter (leader only). */
  async promote(id: NodeId): Promise<void> {
    return this.#changeMembership({ changes: [{ kind: 'addVoter', id }] });
  }

  /** Removes a member (leader only); a leader removing itself steps down once the change commits. */
  async removeMember(id: NodeId): Promise<void> {
    return this.#changeMembership({ changes: [{ kind: 'remove', id }] });
  }

  /** Hands leadership to `to` (leader only); resolves once this node knows `to` as the leader. */
  async transferLeadership(to: NodeId): Promise<void> {
    this.#assertRunning();
    if (this.#transfer !== null) {
      throw new RaftNodeError('TransferInProgress', `leadership is moving to ${this.#transfer.to}`);
    }
    this.#callCore(() => this.#core.transferLeadership(to));
    this.#kick();
    return new Promise((resolve, reject) => {
      // The core gives up after an election timeout; leave room for the election that follows.
      const deadline = this.#options.clock.now() + 3 * this.#options.electionTicks * this.#options.tickMs;
      this.#transfer = { to, deadline, resolve, reject };
    });
  }

  /** This node's role, term, leader, indexes and membership right now; cheap enough to poll. */
  status(): NodeStatus {
    const s = this.#core.status();
    const match = new Map(s.peers.map((p) => [p.id, p.matchIndex]));
    const now = this.#options.clock.now();
    const member = (id: NodeId, role: 'voter' | 'learner'): MemberStatus => {
      const matchIndex = match.get(id) ?? null;
      const peer = id !== this.id && matchIndex !== null;
      const contact = peer ? this.#lastContact.get(id) : undefined;
      return {
        id,
        url: this.#urls.url(id) ?? null,
        role,
        matchIndex,
        lag: peer ? Math.max(0, s.lastIndex - matchIndex) : null,
        lastContactMs: contact === undefined ? null : Math.round(now - contact),
      };
    };
    const voters = [...new Set([...s.membership.voters, ...s.membership.votersOutgoing])];
    return {
      id: this.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      leaderUrl: s.leader === null ? null : (this.#urls.url(s.leader) ?? null),
      commitIndex: s.commitIndex,
      appliedIndex: this.#applied,
      snapshotIndex: this.#snapshotIndex,
      members: [
        ...voters.map((id) => member(id, 'voter')),
        ...s.membership.learners.map((id) => member(id, 'learner')),
      ],
      leadTransferee: s.leadTransferee,
      state: this.#state,
    };
  }

  /**
   * Where member `id` listens, as the log, a snapshot or `peers` told this node; undefined when unknown.
   */
  memberUrl(id: NodeId): string | undefined {
    return this.#urls.url(id);
  }

  /**
   * Calls `listener` on every `event` (see `RaftNodeEvents`) until the returned function is called.
   * Listeners run inside the Ready loop: keep them short; a throw is logged and does not stop the node.
   */
  on<E extends RaftNodeEvent>(event: E, listener: (payload: RaftNodeEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Counters and gauges of this node (proposals, reads, messages, storage timings) as plain values, for a
   * metrics endpoint to render.
   */
  metrics(): RaftNodeMetrics {
    return this.#metrics.snapshot();
  }

  /**
   * Takes a snapshot at the applied index now, unless one at or past it is stored already, and
   * resolves with the meta of the stored snapshot once it is durable. Backups copy the latest
   * stored snapshot, which otherwise lags the applied state by up to `snapshotEvery` (and is the
   * empty one of index 0 until the first): with this first, a backup holds every write this node
   * had applied when it was asked for, which on the leader is every write it acknowledged.
   */
  async snapshotNow(): Promise<SnapshotMeta> {
    const wanted = this.#applied;
    for (;;) {
      this.#assertRunning();
      const stored = this.#storage.snapshotMeta();
      if (stored !== null && stored.index >= wanted) return stored;
      this.#snapshotWanted = Math.max(this.#snapshotWanted, wanted);
      const changed = new Promise<void>((resolve) => this.#snapshotWaiters.push(resolve));
      // An idle loop takes it at once (its last check); a busy one after the Ready in progress.
      this.#kick();
      await changed;
    }
  }

  /**
   * Stops ticking and receiving, lets the Ready in progress finish (its writes were acknowledged
   * only if durable, and it applies what it committed), rejects what is still pending with
   * `Stopped` and closes storage. The transport is not closed: it may carry other groups.
   * Idempotent; after a fatal error it resolves once that shutdown is done.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#shutdown(new RaftNodeError('Stopped', `node ${this.id} was stopped`));
    return this.#stopped;
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  #tick(): void {
    if (this.#state !== 'running') return;
    this.#incomingThisTick = 0;
    this.#catchUpTicks();
    const now = this.#options.clock.now();
    this.#proposals.expire(now);
    this.#forwarded.expire(now);
    this.#reads.tick(now);
    this.#readRounds.tick(now);
    if (this.#transfer !== null && this.#transfer.deadline <= now) {
      this.#transfer.reject(
        new RaftNodeError('Timeout', `leadership did not move to ${this.#transfer.to} in time`),
      );
      this.#transfer = null;
    }
    this.#kick();
  }

  /**
   * Ticks the core once per `tickMs` that passed since it last ticked. A timer fires late when the
   * process was paused (SIGSTOP, a VM stall, a long GC) or its loop starved, and the core's
   * time would fall behind the real one: a leader back from a pause longer than its lease would
   * serve lease reads that another leader's writes have already made stale (found by the fault
   * suite, seed 5). Catching up expires the lease and runs CheckQuorum as real time says. Bounded:
   * past three election timeouts more ticks change nothing.
   */
  #catchUpTicks(): void {
    const { tickMs, electionTicks } = this.#options;
    const now = this.#options.clock.now();
    const due = Math.floor((now - this.#tickedAt) / tickMs);
    if (due <= 0) return;
    this.#tickedAt = due > 3 * electionTicks ? now : this.#tickedAt + due * tickMs;
    for (let k = Math.min(due, 3 * electionTicks); k > 0; k--) this.#guard(() => this.#core.tick());
  }

  #receive(messages: readonly Message[]): void {
    if (this.#state !== 'running') return;
    const now = this.#options.clock.now();
    for (const message of messages) {
      this.#metrics.counters.messagesReceived++;
      this.#lastContact.set(message.from, now);
      // Bounded work per tick: a flood is dropped rather than queued, and Raft resends what matters.
      if (this.#incomingThisTick >= this.#options.maxIncomingPerTick) {
        this.#metrics.counters.messagesDropped++;
        continue;
      }
      this.#incomingThisTick++;
      if (message.type === 'Propose' && !this.#proposalsValid(message.entries)) {
        this.#metrics.counters.messagesDropped++;
        this.#options.logger.warn('dropped forwarded proposals the state machine refuses', {
          from: message.from,
        });
        continue;
      }
      try {
        this.#core.step(message);
      } catch (error) {
        if (!isRaftError(error, 'InvalidMessage')) {
          this.#fail(error);
          return;
        }
        this.#options.logger.warn('dropped an invalid message', { from: message.from, error: error.message });
      }
    }
    this.#kick();
  }

  #forward(data: Uint8Array, signal: AbortSignal | undefined): Promise<Applied> {
    const leader = this.#core.leader;
    if (leader === null || !this.#options.forwardProposals) {
      this.#metrics.counters.proposalsFailed++;
      throw this.#notLeader(leader);
    }
    this.#metrics.counters.proposalsForwarded++;
    const applied = this.#forwarded.add(data, this.#options.clock.now() + this.#options.proposalTimeoutMs);
    if (!this.#forwardsScheduled) {
      this.#forwardsScheduled = true;
      // After the IO phase, not on a microtask: a server handles each request in a task of its
      // own and runs microtasks after each, so a kick there would forward every proposal alone
      // (a Ready that only sends finishes before the next request is read). By the check phase
      // every request read in this turn has proposed, and one Propose carries them all.
      setImmediate(() => {
        this.#forwardsScheduled = false;
        this.#kick();
      });
    }
    return withSignal(applied, signal);
  }

  #proposalsValid(entries: readonly Uint8Array[]): boolean {
    const validate = this.#stateMachine.validate?.bind(this.#stateMachine);
    if (validate === undefined) return true;
    try {
      for (const data of entries) validate(data);
      return true;
    } catch {
      return false;
    }
  }

  async #changeMembership(change: ConfigChange): Promise<void> {
    this.#assertRunning();
    this.#assertRoomForProposal();
    const index = this.#callCore(() => this.#core.proposeConfigChange(change));
    await this.#track(index, undefined);
  }

  /** Waits for the entry just appended at `index` in the current term. */
  #track(index: Index, signal: AbortSignal | undefined): Promise<Applied> {
    const deadline = this.#options.clock.now() + this.#options.proposalTimeoutMs;
    const applied = this.#proposals.add(index, this.#core.term, deadline);
    this.#kick();
    return withSignal(applied, signal);
  }

  // ---------------------------------------------------------------------------------------------
  // The Ready loop

  /**
   * Schedules the loop if it is not running. Deferred to a microtask so that a burst of
   * synchronous calls (many `propose`s, a transport batch) lands in one Ready and one fsync.
   */
  #kick(): void {
    if (this.#loop !== null || !this.#loopMayRun()) return;
    this.#loop = Promise.resolve().then(() => this.#runLoop());
  }

  async #runLoop(): Promise<void> {
    try {
      // Group commit: while one Ready is being persisted, inputs keep stepping into the core, and
      // the next Ready gathers all of them for a single save.
      while (this.#loopMayRun()) {
        this.#compactToStoredSnapshot();
        // Proposals forwarded while the last Ready was handled leave together, in this one.
        this.#forwarded.flush((requestId, entries) =>
          this.#guard(() => this.#core.forward(requestId, entries)),
        );
        if (!this.#core.hasReady()) break;
        await this.#handleReady(this.#core.ready());
        this.#core.advance();
        this.#afterAdvance();
        if (this.#snapshotDue()) await this.#takeSnapshot();
      }
      // A snapshot stored while the loop was idle is compacted to on this turn, and what was
      // applied while it was written may be due one of its own, with no Ready to prompt it.
      this.#compactToStoredSnapshot();
      if (this.#loopMayRun() && this.#snapshotDue()) await this.#takeSnapshot();
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#loop = null;
    }
    // Inputs that arrived during the last await but after the loop's check start a new round.
    if (this.#core.hasReady() || this.#forwarded.hasUnsent()) this.#kick();
  }

  /**
   * While stopping, the loop drains what the core already has (inputs are cut off, so that work
   * is finite): entries made durable get committed and applied, and their proposers answered.
   * After a fatal error nothing more may touch storage or the state machine.
   */
  #loopMayRun(): boolean {
    return this.#fatal === null && this.#state !== 'stopped';
  }

  /** One Ready, in the order ready.ts prescribes; the comments say why each step is where it is. */
  async #handleReady(rd: Ready): Promise<void> {
    this.#metrics.counters.readys++;
    // Before this Ready's entries apply (an answer and the commit can arrive together), and
    // before a leader change gives up on the answers still missing.
    for (const outcome of rd.forwarded) this.#forwarded.answered(outcome);
    if (rd.softState !== null) this.#softStateChanged(rd.softState);
    // Membership is in force once appended: a new member must be reachable before the leader's
    // messages to it go out just below.
    for (const entry of rd.entries) {
      this.#proposals.appended(entry);
      if (entry.type === 'config') this.#urls.appended(decodeConfigChange(entry.data));
    }
    // 1. A leader's messages leave before its own fsync (thesis §10.2.1); the core counts the
    //    leader toward a commit only after advance() reports its entries durable.
    this.#send(rd.messages);
    // 2. Persist: snapshot first (it replaces the log before it), then entries and hard state.
    if (rd.snapshot !== null) await this.#persistSnapshot(rd.snapshot);
    const persisted = this.#persist(rd);
    await persisted;
    // 3. Votes and acknowledgements promise durability, so they leave only now (Raft §5.2).
    this.#send(rd.messagesAfterPersist);
    // 4. Restore, then apply, in index order: everything here is committed and durable.
    if (rd.snapshot !== null) await this.#restoreSnapshot(rd.snapshot);
    this.#apply(rd.committedEntries);
    // 5. Reads whose index is applied are served now; the others when apply reaches them.
    const now = this.#options.clock.now();
    for (const rs of rd.readStates) {
      this.#reads.answered(rs.requestId, rs.index, this.#applied);
      this.#readRounds.answered(rs.requestId, now);
    }
  }

  #afterAdvance(): void {
    this.#reads.applied(this.#applied);
  }

  /**
   * When only the commit index changed (`mustSync` false) nothing is written: the commit index
   * need not be durable (a restarted node learns it again from the leader, and the core never
   * starts below its snapshot), so it rides along with the next write instead of costing an
   * fsync of its own, which at one write in flight was one fsync in three.
   */
  async #persist(rd: Ready): Promise<void> {
    if (!rd.mustSync) {
      if (rd.hardState !== null) this.#unsavedHardState = rd.hardState;
      return;
    }
    const hardState = rd.hardState ?? this.#unsavedHardState;
    this.#unsavedHardState = null;
    if (rd.entries.length === 0 && hardState === null) return;
    const write: StorageWrite = {
      ...(rd.entries.length > 0 ? { entries: rd.entries } : {}),
      ...(hardState !== null ? { hardState } : {}),
    };
    const started = performance.now();
    await this.#storage.save(write);
    this.#metrics.fsync.observe((performance.now() - started) / 1000);
    this.#metrics.counters.saves++;
    this.#metrics.counters.entriesPersisted += rd.entries.length;
  }

  async #persistSnapshot(snapshot: Snapshot): Promise<void> {
    // A snapshot the transport streamed in is already stored (or a newer one is): storing it
    // again would be wasted IO, and storing an older one over a newer one is refused.
    const stored = this.#storage.snapshotMeta();
    if (stored === null || stored.index < snapshot.meta.index) await this.#storage.saveSnapshot(snapshot);
    this.#wakeSnapshotWaiters();
  }

  #wakeSnapshotWaiters(): void {
    for (const wake of this.#snapshotWaiters.splice(0)) wake();
  }

  async #restoreSnapshot(snapshot: Snapshot): Promise<void> {
    const envelope = unwrapSnapshot(snapshot.data);
    await this.#stateMachine.restore(envelope.state);
    this.#urls.restore(envelope.urls);
    this.#applied = snapshot.meta.index;
    this.#snapshotIndex = snapshot.meta.index;
    this.#bytesSinceSnapshot = 0;
    this.#proposals.coveredBySnapshot(snapshot.meta.index);
    this.#metrics.counters.snapshotsRestored++;
    this.#events.emit('applied', { index: this.#applied });
  }

  #apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const started = performance.now();
    for (const entry of entries) {
      if (entry.index !== this.#applied + 1) {
        throw new Error(`apply out of order: entry ${entry.index} after ${this.#applied}`);
      }
      let result: unknown;
      if (entry.type === 'config') {
        const change = decodeConfigChange(entry.data);
        this.#urls.applied(change);
        this.#options.logger.info('membership change applied', {
          index: entry.index,
          changes: change.changes.map((c) => `${c.kind} ${c.id}`).join(', '),
        });
      } else if (entry.data.byteLength > 0) {
        result = this.#stateMachine.apply(entry);
        this.#bytesSinceSnapshot += entry.data.byteLength;
      }
      this.#applied = entry.index;
      this.#proposals.applied(entry, result);
    }
    this.#metrics.apply.observe((performance.now() - started) / 1000);
    this.#metrics.counters.entriesApplied += entries.length;
    this.#events.emit('applied', { index: this.#applied });
  }

  #send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    for (const { messages: run, mayWait } of this.#commitNotices.runs(messages)) {
      this.#transport.send(this.#options.groupId, run, mayWait ? { mayWait } : undefined);
    }
    this.#metrics.counters.messagesSent += messages.length;
  }

  #softStateChanged(soft: SoftState): void {
    const term = this.#core.term;
    if (soft.role !== this.#role) {
      this.#role = soft.role;
      this.#events.emit('role', { role: soft.role, term });
    }
    if (soft.leader !== this.#leader) {
      this.#leader = soft.leader;
      this.#forwarded.leaderChanged();
      // Nobody is left to confirm the reads still waiting: fail them now, not at their deadline.
      if (soft.leader === null) {
        this.#reads.abandonUnconfirmed(
          new RaftNodeError('NotLeader', 'the leader was lost before a quorum confirmed the read', {
            leader: null,
          }),
        );
      }
      this.#events.emit('leader', { leader: soft.leader, term });
      if (this.#transfer !== null && soft.leader === this.#transfer.to) {
        this.#transfer.resolve();
        this.#transfer = null;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots and compaction

  #snapshotDue(): boolean {
    const policy = this.#options.snapshotEvery;
    return (
      this.#snapshotSave === null &&
      this.#applied > this.#snapshotIndex &&
      (this.#applied - this.#snapshotIndex >= policy.entries ||
        this.#bytesSinceSnapshot >= policy.bytes ||
        // Asked for by `snapshotNow` (the compacted index is at most the stored one's, so most
        // turns are settled without asking storage).
        (this.#snapshotWanted > this.#snapshotIndex &&
          this.#snapshotWanted > (this.#storage.snapshotMeta()?.index ?? 0)))
    );
  }

  /**
   * Snapshot at the applied index, store it durably, and only then let the core drop the log
   * before it (a crash in between must find either the log or the snapshot). A state machine
   * that returns bytes serializes itself between Readys, so nothing applies meanwhile; one that
   * returns chunks captured its state and serializes it beside the loop, a chunk per write. The
   * write (a file, its fsync and the rename) runs off the loop, which a write of a few megabytes
   * would otherwise stall for every client. The core compacts at the loop's first turn after it.
   */
  async #takeSnapshot(): Promise<void> {
    const at = this.#applied as Index;
    let meta: SnapshotMeta;
    try {
      meta = this.#core.snapshotMetaAt(at);
    } catch (error) {
      // A snapshot from the leader arrived while the last Ready was being handled and replaced
      // the log past `at`; the next Ready restores it, and ours would be older anyway.
      if (isRaftError(error, 'SnapshotOutOfDate')) return;
      throw error;
    }
    const header = envelopeHeader(this.#urls.appliedUrls());
    const taken = this.#stateMachine.snapshot();
    // A chunked snapshot is a capture, serialized while the loop goes on; bytes are waited for.
    const state = isSnapshotStream(taken) ? taken : [await taken];
    this.#bytesSinceSnapshot = 0;
    this.#snapshotSave = this.#storeSnapshot(meta, header, state)
      .catch((error: unknown) => {
        this.#fail(error);
      })
      .finally(() => {
        this.#snapshotSave = null;
        this.#wakeSnapshotWaiters();
      });
  }

  async #storeSnapshot(
    meta: SnapshotMeta,
    header: Uint8Array,
    state: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<void> {
    try {
      const writer = await this.#storage.createSnapshot(meta);
      try {
        await writer.write(header);
        for await (const chunk of state) await writer.write(chunk);
      } catch (error) {
        await writer.abort();
        throw error;
      }
      await writer.commit();
    } catch (error) {
      // The leader's snapshot, streamed in meanwhile, superseded ours: nothing to do.
      if (
        isStorageError(error, 'InvalidArgument') &&
        (this.#storage.snapshotMeta()?.index ?? 0) >= meta.index
      )
        return;
      throw error;
    }
    this.#snapshotStored = meta;
    this.#metrics.counters.snapshotsTaken++;
    this.#kick();
  }

  /** Lets the core drop the log up to the snapshot just stored; only between Readys. */
  #compactToStoredSnapshot(): void {
    const meta = this.#snapshotStored;
    if (meta === null) return;
    this.#snapshotStored = null;
    try {
      this.#core.compact(dataless(meta));
    } catch (error) {
      if (!isRaftError(error, 'SnapshotOutOfDate')) throw error;
    }
    this.#snapshotIndex = Math.max(this.#snapshotIndex, meta.index);
  }

  // ---------------------------------------------------------------------------------------------
  // Failure and shutdown

  /**
   * Storage or state-machine failure: stop at once and for good. Continuing or retrying after a
   * failed fsync risks acknowledging what is not durable, and a state machine that threw may
   * differ from its peers'. Returns the error for `throw this.#fail(e)`.
   */
  #fail(cause: unknown): RaftNodeError {
    if (this.#fatal !== null) return this.#fatal;
    const message = cause instanceof Error ? cause.message : String(cause);
    const error = new RaftNodeError('Fatal', `node ${this.id} stopped: ${message}`, { cause });
    this.#fatal = error;
    this.#options.logger.error('fatal error: node stopped', { id: this.id, error: message });
    if (this.#state === 'stopped') return error;
    this.#events.emit('fatal', { error });
    this.#stopped ??= this.#shutdown(error);
    return error;
  }

  async #shutdown(reason: RaftNodeError): Promise<void> {
    this.#state = 'stopping';
    this.#cancelTicks?.();
    this.#transport.unregister(this.#options.groupId);
    // Not sent yet, or unanswered: waiting on for the leader's answer would outlast the node.
    this.#forwarded.rejectAll(reason);
    // Drain: the Ready in progress and what follows from it finish, and their results are
    // delivered (the loop may re-schedule itself once, hence the loop here).
    this.#kick();
    while (this.#loop !== null) await this.#loop;
    await this.#snapshotSave;
    this.#proposals.rejectAll(reason);
    this.#reads.rejectAll(reason);
    this.#transfer?.reject(reason);
    this.#transfer = null;
    try {
      // A clean stop stores the commit index too, so a restart applies all it had applied.
      if (this.#fatal === null && this.#unsavedHardState !== null)
        await this.#storage.save({ hardState: this.#unsavedHardState });
      await this.#storage.close();
    } catch (error) {
      // After a storage failure the store may refuse even this; the fatal error was reported.
      if (reason.code !== 'Fatal') throw error;
    } finally {
      this.#state = 'stopped';
      this.#wakeSnapshotWaiters();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  #assertRunning(): void {
    if (this.#fatal !== null) throw this.#fatal;
    if (this.#state !== 'running') throw new RaftNodeError('Stopped', `node ${this.id} is stopped`);
  }

  #assertRoomForProposal(): void {
    if (!this.#proposals.hasRoom(this.#forwarded.size)) {
      this.#metrics.counters.proposalsFailed++;
      throw new RaftNodeError('Busy', `${this.#options.maxPendingProposals} proposals already pending`);
    }
  }

  /** Runs a core call that may refuse with a `RaftError`, translated for the caller. */
  #callCore<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      if (!(error instanceof RaftError)) throw this.#fail(error);
      this.#metrics.counters.proposalsFailed++;
      switch (error.code) {
        case 'NotLeader':
          throw this.#notLeader(error.leaderHint);
        case 'Busy':
        case 'TransferInProgress':
        case 'ConfigChangeInProgress':
        case 'LearnerCatchingUp':
        case 'InvalidConfigChange':
        case 'InvalidTransferTarget':
          throw new RaftNodeError(error.code, error.message, { leader: error.leaderHint, cause: error });
        default:
          throw this.#fail(error);
      }
    }
  }

  #notLeader(leader: NodeId | null): RaftNodeError {
    const leaderUrl = leader === null ? null : (this.#urls.url(leader) ?? null);
    return new RaftNodeError(
      'NotLeader',
      leader === null ? 'no leader is known yet; retry shortly' : `${leader} is the leader`,
      { leader, leaderUrl },
    );
  }

  /** Runs a core input; a throw there is a broken invariant, which stops the node. */
  #guard(input: () => void): void {
    try {
      input();
    } catch (error) {
      this.#fail(error);
    }
  }
}

/** Settles with `promise`, or rejects with the signal's reason if it aborts first. */
function withSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The core keeps the latest snapshot to send it to followers that need it, but this driver never
 * sends it from there: the transport streams it from storage in chunks (`snapshotHooks`). So the
 * core gets the snapshot's metadata only, and a large state never sits in memory twice.
 */
function dataless(meta: SnapshotMeta): Snapshot {
  return { meta, data: new Uint8Array(0) };
}
