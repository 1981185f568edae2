import { encodeConfigChange } from './confchange.ts';
import { type RaftConfig, resolveConfig } from './config.ts';
import { RaftError } from './errors.ts';
import type { Message } from './messages.ts';
import { parseMembership, parseMessage, parseProposals } from './parse.ts';
import { type Mutations, Raft, type ReadMode } from './raft.ts';
import type { PeerStatus, Ready, Role, SoftState, Status } from './ready.ts';
import type { PersistedState } from './storage.ts';
import type {
  ConfigChange,
  Entry,
  HardState,
  Index,
  MemberChange,
  Membership,
  NodeId,
  Snapshot,
  SnapshotMeta,
  Term,
} from './types.ts';

/** What the outstanding Ready promised, so `advance()` can account for exactly that. */
interface Outstanding {
  readonly hardState: HardState;
  readonly lastEntry: { index: Index; term: Term } | null;
  readonly appliedTo: Index | null;
  /** The index of the snapshot it handed out, if any. */
  readonly snapshotIndex: Index | null;
}

const emptyHardState: HardState = { term: 0 as Term, votedFor: null, commitIndex: 0 as Index };

const noMembers: Membership = { voters: [], votersOutgoing: [], learners: [] };

/**
 * The state of a node founding a new cluster. Like etcd-io/raft's bootstrap, the initial
 * membership is a committed config entry at index 1, term 1, rather than hidden state, so that a
 * node joining later receives it with the rest of the log. Every founder must be given the same
 * membership: the entry is built from it deterministically (ids sorted), and founders with
 * different entries at index 1 would break Log Matching. `context` is the application's metadata
 * for the founding members (e.g. their addresses), carried in that entry like any change's.
 */
export function bootstrapState(membership: Membership, context?: Uint8Array): PersistedState {
  parseMembership(membership);
  if (membership.voters.length === 0) throw new RangeError('a new cluster needs at least one voter');
  if (membership.votersOutgoing.length > 0)
    throw new RangeError('a new cluster cannot start in a joint configuration');
  const changes: MemberChange[] = [
    ...[...membership.voters].sort().map((id) => ({ kind: 'addVoter' as const, id })),
    ...[...membership.learners].sort().map((id) => ({ kind: 'addLearner' as const, id })),
  ];
  const data = encodeConfigChange(context === undefined ? { changes } : { changes, context });
  const first: Entry = { index: 1 as Index, term: 1 as Term, type: 'config', data };
  return {
    hardState: { term: 1 as Term, votedFor: null, commitIndex: 1 as Index },
    snapshot: {
      meta: { index: 0 as Index, term: 0 as Term, membership: noMembers },
      data: new Uint8Array(0),
    },
    entries: [first],
  };
}

/** The state of a node joining an existing cluster: it knows no members until the leader reaches it. */
export function joiningState(): PersistedState {
  return {
    hardState: emptyHardState,
    snapshot: {
      meta: { index: 0 as Index, term: 0 as Term, membership: noMembers },
      data: new Uint8Array(0),
    },
    entries: [],
  };
}

/** Options beyond the config. Test-only today: see `mutations`. */
export interface RawNodeOptions {
  /** Test-only: deliberately broken rules that prove the simulator catches them. */
  readonly mutations?: Mutations;
}

/**
 * The application's handle on the core: inputs in (`tick`, `step`, `propose`, `campaign`), one
 * `Ready` batch out, then `advance()`. No IO, no clock, no randomness but the configured seed:
 * the same inputs always produce the same outputs.
 */
export class RawNode {
  private readonly raft: Raft;
  private persistedHardState: HardState;
  private lastSoftState: SoftState;
  private outstanding: Outstanding | null = null;
  private readonly sendBeforeTermDurable: boolean;

  constructor(config: RaftConfig, state: PersistedState, options: RawNodeOptions = {}) {
    this.raft = new Raft(resolveConfig(config), state, options.mutations);
    this.sendBeforeTermDurable = options.mutations?.sendBeforeTermDurable === true;
    this.persistedHardState = state.hardState;
    this.lastSoftState = this.softState();
  }

  /** Advances the logical clock by one tick: election and heartbeat timeouts count in ticks. */
  tick(): void {
    this.raft.tick();
  }

  /** Feeds a message from a peer. Throws `RaftError` code `InvalidMessage` (changing nothing) if malformed. */
  step(message: Message): void {
    this.raft.step(parseMessage(message));
  }

  /** Appends a command to the leader's log and returns its index; replicated at the next Ready. */
  propose(data: Uint8Array): Index {
    if (!(data instanceof Uint8Array)) throw new TypeError('propose(data): data must be a Uint8Array');
    return this.raft.propose(data);
  }

  /**
   * Proposes commands through whoever leads: appended here on the leader, sent to the leader
   * otherwise (a follower's clients need not know who leads). The outcome is a
   * `ForwardedProposal` with `requestId` in a later Ready: where the commands were appended
   * (they then commit, or are overwritten, like any proposal), or why the leader refused them.
   * A Propose lost on the way, or sent to a node that no longer leads, is never answered: give up
   * when the leader changes or after a timeout, the outcome unknown.
   */
  forward(requestId: number, entries: readonly Uint8Array[]): void {
    if (!Number.isSafeInteger(requestId) || requestId < 0) {
      throw new RangeError('forward(requestId): requestId must be a non-negative integer');
    }
    let parsed: Uint8Array[];
    try {
      parsed = parseProposals(entries, 'entries');
    } catch (error) {
      throw new TypeError(`forward(entries): ${(error as Error).message}`);
    }
    this.raft.forward(requestId, parsed);
  }

  /**
   * Starts an election now instead of waiting for the timeout (with pre-vote first when `preVote` is on).
   */
  campaign(): void {
    this.raft.campaign();
  }

  /**
   * Proposes a membership change (leader only) and returns the index of its config entry. It is
   * in force as soon as it is appended. Throws `RaftError` with code `NotLeader`,
   * `ConfigChangeInProgress`, `TransferInProgress` or `InvalidConfigChange`.
   */
  proposeConfigChange(change: ConfigChange): Index {
    return this.raft.proposeConfigChange(change);
  }

  /**
   * Hands leadership to `to` (thesis §3.10): proposals are refused until the transfer ends, the
   * target is brought up to date and told to campaign at once. Abandoned after an election timeout.
   */
  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  /**
   * Asks for a linearizable read (thesis §6.4). The answer is a `ReadState` with `requestId` in a
   * later Ready: serve the read once the state machine has applied its index. `lease` lets the
   * leader skip the heartbeat round while its lease holds; that assumes clocks drift by less than
   * one tick per election timeout. A read that cannot be served is dropped: retry after a timeout.
   */
  readIndex(requestId: number, mode: ReadMode = 'quorum'): void {
    if (!Number.isSafeInteger(requestId) || requestId < 0) {
      throw new RangeError('readIndex(requestId): requestId must be a non-negative integer');
    }
    this.raft.readIndex(requestId, mode);
  }

  /**
   * A lease read answered at once (thesis §6.4.1): on a leader whose lease holds, the commit index
   * the read must observe; serve it once the state machine has applied that far. Null when the
   * read needs `readIndex` (not the leader, the lease lapsed or is suspended by a transfer, or no
   * entry of this term is committed yet). Same clock assumption as a `lease` readIndex.
   */
  leaseReadIndex(): Index | null {
    return this.raft.leaseReadIndex();
  }

  /**
   * Whether `ready()` would return work: false while a Ready is outstanding (not yet `advance`d), since
   * Readys must be handled in order.
   */
  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const raft = this.raft;
    return (
      raft.messages.length > 0 ||
      raft.messagesAfterPersist.length > 0 ||
      raft.readStates.length > 0 ||
      raft.forwarded.length > 0 ||
      raft.hasPendingBroadcast() ||
      raft.log.pendingSnapshot !== null ||
      raft.log.stableIndex < raft.log.lastIndex() ||
      raft.log.commitIndex > raft.log.appliedIndex ||
      !sameHardState(this.hardState(), this.persistedHardState) ||
      !sameSoftState(this.softState(), this.lastSoftState)
    );
  }

  /** The next batch of work. Call `advance()` before asking for another. */
  ready(): Ready {
    if (this.outstanding !== null) throw new Error('ready() called again before advance()');
    const raft = this.raft;
    raft.flushBroadcast();
    const hardState = this.hardState();
    const softState = this.softState();
    const entries = raft.log.unstableEntries();
    const snapshot = raft.log.pendingSnapshot;
    const committedEntries = raft.log.nextCommitted(Number.POSITIVE_INFINITY);
    const lastEntry = entries.at(-1);
    const lastCommitted = committedEntries.at(-1);
    // Raft §5.1 with §5.2: a node may leave nothing of a term behind it that it could forget. A
    // leader's early `messages` (thesis §10.2.1) are safe only once its term and vote are durable:
    // a leader that won in this very Ready (alone, or on votes it just counted) and crashed before
    // its hard state reached the disk would restart at its old term and could vote for a rival in
    // the term it already led. Until then every message waits for the write.
    const termDurable =
      hardState.term === this.persistedHardState.term &&
      hardState.votedFor === this.persistedHardState.votedFor;
    const sendEarly = termDurable || this.sendBeforeTermDurable;
    const ready: Ready = {
      softState: sameSoftState(softState, this.lastSoftState) ? null : softState,
      hardState: sameHardState(hardState, this.persistedHardState) ? null : hardState,
      entries,
      snapshot,
      messages: sendEarly ? raft.messages : [],
      messagesAfterPersist: sendEarly
        ? raft.messagesAfterPersist
        : [...raft.messages, ...raft.messagesAfterPersist],
      committedEntries,
      readStates: raft.readStates,
      forwarded: raft.forwarded,
      mustSync: entries.length > 0 || snapshot !== null || !termDurable,
    };
    raft.messages = [];
    raft.messagesAfterPersist = [];
    raft.readStates = [];
    raft.forwarded = [];
    this.lastSoftState = softState;
    this.outstanding = {
      hardState,
      lastEntry: lastEntry === undefined ? null : { index: lastEntry.index, term: lastEntry.term },
      appliedTo: lastCommitted === undefined ? null : lastCommitted.index,
      snapshotIndex: snapshot === null ? null : snapshot.meta.index,
    };
    return ready;
  }

  /** The last Ready is persisted, its messages sent and its committed entries applied. */
  advance(): void {
    const done = this.outstanding;
    if (done === null) throw new Error('advance() called without an outstanding ready()');
    this.outstanding = null;
    this.persistedHardState = done.hardState;
    if (done.snapshotIndex !== null) this.raft.log.snapshotApplied(done.snapshotIndex);
    if (done.lastEntry !== null) this.raft.persisted(done.lastEntry.index, done.lastEntry.term);
    if (done.appliedTo !== null) this.raft.log.appliedTo(done.appliedTo);
  }

  /**
   * The application took `snapshot` of its state at an applied index and stored it durably. The
   * core drops its log up to there and sends this snapshot to followers that need it.
   */
  compact(snapshot: Snapshot): void {
    this.raft.compact(snapshot);
  }

  /** How sending a snapshot to `to` ended, as the transport saw it. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(to, ok);
  }

  /** Term and membership at an applied index, to describe a snapshot taken there. */
  snapshotMetaAt(index: Index): SnapshotMeta {
    const term = this.raft.log.term(index);
    if (term === undefined || index > this.raft.log.appliedIndex) {
      // Also the case when a snapshot from the leader replaced the log past `index` and its
      // Ready is not handled yet: the application's snapshot would be older than the core's.
      throw new RaftError('SnapshotOutOfDate', `no applied entry at index ${index} in the log`);
    }
    return { index, term, membership: this.raft.log.membershipAt(index) };
  }

  /** A snapshot of the core's state for observers; `peers` is filled on the leader only. */
  status(): Status {
    const raft = this.raft;
    const peers: PeerStatus[] = [];
    if (raft.role === 'leader') {
      for (const [id, p] of raft.tracker.progress) {
        peers.push({
          id,
          matchIndex: p.matchIndex,
          nextIndex: p.nextIndex,
          state: p.state,
          isLearner: p.isLearner,
          recentActive: p.recentActive,
          inflightMessages: p.inflightCount,
        });
      }
    }
    return {
      id: raft.id,
      role: raft.role,
      term: raft.term,
      votedFor: raft.votedFor,
      leader: raft.leader,
      commitIndex: raft.log.commitIndex,
      appliedIndex: raft.log.appliedIndex,
      firstIndex: raft.log.firstIndex(),
      lastIndex: raft.log.lastIndex(),
      membership: raft.tracker.membership,
      peers,
      leadTransferee: raft.leadTransferee,
    };
  }

  /** Entry `i` if the core still holds it (for tests and tools). */
  entry(i: Index): Entry | undefined {
    return this.raft.log.entryAt(i);
  }

  /** Throws if an internal invariant is broken; the simulator calls it after every step. */
  assertInvariants(): void {
    this.raft.assertInvariants();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Cheap accessors for hot paths; `status()` builds the whole picture. */
  get role(): Role {
    return this.raft.role;
  }

  get term(): Term {
    return this.raft.term;
  }

  get leader(): NodeId | null {
    return this.raft.leader;
  }

  private hardState(): HardState {
    return { term: this.raft.term, votedFor: this.raft.votedFor, commitIndex: this.raft.log.commitIndex };
  }

  private softState(): SoftState {
    return { role: this.raft.role, leader: this.raft.leader };
  }
}

const sameHardState = (a: HardState, b: HardState) =>
  a.term === b.term && a.votedFor === b.votedFor && a.commitIndex === b.commitIndex;

const sameSoftState = (a: SoftState, b: SoftState) => a.role === b.role && a.leader === b.leader;
