import { applyConfigChange, encodeConfigChange, isJoint, leaveJoint } from './confchange.ts';
import type { ResolvedConfig } from './config.ts';
import { RaftError } from './errors.ts';
import { RaftLog } from './log.ts';
import type {
  AppendEntries,
  AppendEntriesResponse,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  Message,
  ProposalRefusal,
  Propose,
  ProposeResponse,
  ReadIndexResponse,
  RequestVote,
  RequestVoteResponse,
} from './messages.ts';
import type { Progress } from './progress.ts';
import { isVoter, quorumMatchedIndex } from './quorum.ts';
import { seededRandom } from './random.ts';
import { LeaderReads, type PendingRead, type ReadHost } from './read-index.ts';
import type { ForwardedProposal, ReadState, Role } from './ready.ts';
import type { PersistedState } from './storage.ts';
import { ProgressTracker } from './tracker.ts';
import type { ConfigChange, Entry, Index, NodeId, Snapshot, Term } from './types.ts';

/** Where the leader appended proposed commands (the first one's index, in its term), or why not. */
type ProposalOutcome = { index: Index; term: Term } | { refused: ProposalRefusal };

/**
 * Deliberately broken rules, switched on only by tests that prove the simulator catches them.
 * Never set in production: each one breaks a safety property of Raft.
 */
export interface Mutations {
  /** Commit an entry of an earlier term by counting replicas (the trap of Raft Figure 8). */
  readonly commitOldTermByCounting?: boolean;
  /** Grant every vote request, even a second one in the same term (breaks Election Safety). */
  readonly grantTwoVotesPerTerm?: boolean;
  /** Vote without the log up-to-date check of §5.4.1 (breaks Leader Completeness). */
  readonly skipLogUpToDateCheck?: boolean;
  /** Serve reads without confirming leadership with a quorum round (stale reads). */
  readonly skipReadIndexRound?: boolean;
  /** Let a leader's messages leave before its new term and vote are durable (breaks Election Safety). */
  readonly sendBeforeTermDurable?: boolean;
}

type CampaignKind = 'preElection' | 'election' | 'transfer';

/**
 * How a leader confirms a read index (thesis §6.4): `quorum` with a round of heartbeats acknowledged by a
 * majority (safe under any clock); `lease` from the leader's lease alone (no round trip, but it trusts
 * bounded clock drift).
 */
export type ReadMode = 'quorum' | 'lease';

/**
 * The Raft state machine of one node. Reads like the paper: `step` settles the term (§5.1), answers
 * vote requests the same way in every role (§5.2, §5.4.1), and hands everything else to the role's
 * own step function. Role changes happen only in the `become*` methods.
 */
export class Raft {
  readonly id: NodeId;
  term: Term;
  votedFor: NodeId | null;
  leader: NodeId | null = null;
  role: Role = 'follower';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;

  /** Messages that may leave at once (a leader replicating, thesis §10.2.1; forwarded proposals). */
  messages: Message[] = [];
  /** Messages that may leave only once the state they acknowledge is durable. */
  messagesAfterPersist: Message[] = [];
  /** Reads this node's clients may now serve, once applied up to their index. */
  readStates: ReadState[] = [];
  /** What became of proposals this node made with `forward`. */
  forwarded: ForwardedProposal[] = [];
  /** The highest Propose request id taken from each sender, for this process's whole life. */
  private readonly proposalsSeen = new Map<NodeId, number>();
  /** Leader: the node leadership is being handed to (thesis §3.10), if any. */
  leadTransferee: NodeId | null = null;

  /** Ticks since the last election timeout reset (followers, candidates) or CheckQuorum round (leaders). */
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** Leader: new entries are waiting to be sent to followers in one batch at the next Ready. */
  private pendingBroadcast = false;
  /**
   * Leader: the commit index moved when its own write became durable; the next Ready tells the
   * followers even with nothing new to send, or they would apply only at the next heartbeat.
   */
  private pendingCommitBroadcast = false;
  /** Leader: payload bytes appended but not yet committed, bounded by `maxUncommittedBytes`. */
  private uncommittedBytes = 0;
  /** Leader: ticks since the transfer started; it is abandoned after an election timeout. */
  private transferElapsed = 0;
  /** Leader: linearizable reads, the heartbeat rounds that confirm them and the lease they time. */
  private readonly readHost: ReadHost = {
    commitIndex: () => this.log.commitIndex,
    committedInCurrentTerm: () => this.committedInCurrentTerm(),
    isSoleVoter: () => this.isSoleVoter(),
    leaseAllowed: () => this.config.checkQuorum && this.leadTransferee === null,
    confirmedRound: (currentRound) =>
      quorumMatchedIndex(this.tracker.membership, (id) =>
        id === this.id
          ? (currentRound as Index)
          : ((this.tracker.progress.get(id)?.ackedRound ?? 0) as Index),
      ),
    release: (read) => this.releaseRead(read),
  };
  private reads!: LeaderReads;
  /** Ticks since this node started: the leader's clock for lease reads. */
  private now = 0;
  /** Until `now` reaches this, a restarted node refuses votes as if it had heard from a leader. */
  private readonly bootLease: number;
  private readonly random: () => number;

  constructor(
    private readonly config: ResolvedConfig,
    state: PersistedState,
    private readonly mutations: Mutations = {},
  ) {
    this.id = config.id;
    this.random = seededRandom(config.seed);
    const snapshot = state.snapshot;
    if (snapshot === null)
      throw new Error('persisted state has no snapshot: bootstrap it with bootstrapState()');
    this.term = state.hardState.term;
    this.votedFor = state.hardState.votedFor;
    const commitIndex = Math.max(state.hardState.commitIndex, snapshot.meta.index) as Index;
    this.log = new RaftLog(snapshot, state.entries, commitIndex, snapshot.meta.index);
    this.tracker = new ProgressTracker(this.log.membership(), config.maxInflightMessages);
    // A node that never saw a term past the bootstrap one cannot have extended anyone's lease.
    this.bootLease = config.checkQuorum && state.hardState.term > 1 ? config.electionTicks : 0;
    this.becomeFollower(this.term, null);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  step(m: Message): void {
    if (m.to !== this.id || m.from === this.id) return;

    // Raft §5.1: settle the term before anything else.
    if (m.term > this.term) {
      if (
        m.type === 'RequestVote' &&
        !m.transfer &&
        (m.preVote || this.config.checkQuorum) &&
        this.inLease()
      ) {
        // Thesis §4.2.3: while we hear from a leader, a vote request is from a node that lost
        // touch with it (or was removed) and must not be allowed to depose a working leader.
        this.config.logger.debug('ignoring vote request during leader lease', { from: m.from, term: m.term });
        return;
      }
      if (m.type === 'RequestVote' && m.preVote) {
        // A pre-vote probe (thesis §9.6) changes nobody's term.
      } else if (m.type === 'RequestVoteResponse' && m.preVote && m.granted) {
        // A granted pre-vote carries the term we would campaign at; it is not a newer leader's.
      } else {
        const fromLeader =
          m.type === 'AppendEntries' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot';
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      // Where a leader of an earlier term appended our proposals stays true: they may commit.
      if (m.type === 'ProposeResponse') this.proposalsAnswered(m);
      else this.answerStale(m);
      return;
    }

    if (m.type === 'RequestVote') {
      this.handleRequestVote(m);
      return;
    }
    if (m.type === 'ProposeResponse') {
      this.proposalsAnswered(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  tick(): void {
    this.now++;
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** Starts an election now (pre-vote first when enabled), as if the election timeout fired. */
  campaign(): void {
    if (this.role === 'leader') return;
    this.startCampaign(this.config.preVote ? 'preElection' : 'election');
  }

  /** Raft §5.3: the leader appends a client command to its log; replication follows at the next Ready. */
  propose(data: Uint8Array): Index {
    this.assertAcceptingProposals();
    this.assertRoomFor(data.byteLength);
    return this.appendCommands([data]);
  }

  /**
   * Proposes `entries` through whoever leads (thesis §6.2): appended here on the leader, sent to
   * the leader otherwise. Either way the outcome comes back in `forwarded` under `requestId`; a
   * Propose lost on the way, or sent to a node that no longer leads, is never answered, and the
   * caller gives up (the outcome unknown) when the leader changes or after its own timeout.
   */
  forward(requestId: number, entries: readonly Uint8Array[]): void {
    if (this.role === 'leader') {
      this.forwarded.push({ requestId, ...this.appendProposed(entries) });
    } else if (this.leader === null) {
      this.forwarded.push({ requestId, refused: 'NotLeader' });
    } else {
      const m: Propose = {
        type: 'Propose',
        from: this.id,
        to: this.leader,
        term: this.term,
        requestId,
        entries,
      };
      // Straight to `messages`: a proposal acknowledges nothing, so it need not wait for our fsync.
      this.messages.push(m);
    }
  }

  /** Appends proposed commands as `propose` would, or says why not. */
  private appendProposed(entries: readonly Uint8Array[]): ProposalOutcome {
    try {
      this.assertAcceptingProposals();
      this.assertRoomFor(entries.reduce((sum, data) => sum + data.byteLength, 0));
    } catch (error) {
      if (error instanceof RaftError) return { refused: error.code as ProposalRefusal };
      throw error;
    }
    return { index: this.appendCommands(entries), term: this.term };
  }

  private assertRoomFor(bytes: number): void {
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.config.maxUncommittedBytes) {
      throw new RaftError('Busy', 'too many uncommitted bytes; retry after some commit', {
        leaderHint: this.id,
      });
    }
  }

  /** Appends commands at the end of the leader's log; returns the first one's index. */
  private appendCommands(commands: readonly Uint8Array[]): Index {
    const first = this.log.lastIndex() + 1;
    this.appendAsLeader(
      commands.map((data, i) => ({ index: (first + i) as Index, term: this.term, type: 'normal', data })),
    );
    return first as Index;
  }

  /**
   * A network may duplicate a message, and appending a proposal twice would apply it twice. A
   * follower's request ids only grow (across its restarts too), so a request id no higher than
   * the last one taken from that sender is a copy, or was overtaken by a later request (then it
   * is as good as lost): either way it is dropped unanswered.
   */
  private firstCopy(m: Propose): boolean {
    if (m.requestId <= (this.proposalsSeen.get(m.from) ?? -1)) return false;
    this.proposalsSeen.set(m.from, m.requestId);
    return true;
  }

  private answerProposals(m: Propose, outcome: ProposalOutcome): void {
    const response: ProposeResponse = {
      type: 'ProposeResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      requestId: m.requestId,
      index: 'index' in outcome ? outcome.index : (0 as Index),
      refused: 'refused' in outcome ? outcome.refused : null,
    };
    this.send(response);
  }

  private proposalsAnswered(m: ProposeResponse): void {
    this.forwarded.push(
      m.refused === null
        ? { requestId: m.requestId, index: m.index, term: m.term }
        : { requestId: m.requestId, refused: m.refused },
    );
  }

  /**
   * Thesis §4: proposes a membership change. Refused while another is pending, before the leader
   * has committed an entry of its own term (the single-server change rule, thesis §4.1 and the
   * 2015 raft-dev correction), and for a learner that has not caught up yet.
   */
  proposeConfigChange(change: ConfigChange): Index {
    this.assertAcceptingProposals();
    const membership = this.log.membership();
    if (this.log.latestConfigIndex() > this.log.commitIndex || isJoint(membership)) {
      throw new RaftError('ConfigChangeInProgress', 'another membership change is not committed yet');
    }
    if (!this.committedInCurrentTerm()) {
      throw new RaftError(
        'ConfigChangeInProgress',
        'the new leader has not committed an entry of its term yet',
      );
    }
    for (const c of change.changes) {
      const progress = this.tracker.progress.get(c.id);
      if (c.kind === 'addVoter' && membership.learners.includes(c.id) && progress?.state !== 'replicate') {
        throw new RaftError('LearnerCatchingUp', `learner ${c.id} has not caught up with the log yet`);
      }
    }
    applyConfigChange(membership, change); // validates; throws InvalidConfigChange
    return this.appendConfig(change);
  }

  /** Only a leader that is not handing leadership over appends new entries (thesis §3.10). */
  private assertAcceptingProposals(): void {
    if (this.role !== 'leader') {
      throw new RaftError('NotLeader', `node ${this.id} is not the leader`, { leaderHint: this.leader });
    }
    if (this.leadTransferee !== null) {
      throw new RaftError('TransferInProgress', `leadership is moving to ${this.leadTransferee}`, {
        leaderHint: this.id,
      });
    }
  }

  private appendConfig(change: ConfigChange): Index {
    const entry: Entry = {
      index: (this.log.lastIndex() + 1) as Index,
      term: this.term,
      type: 'config',
      data: encodeConfigChange(change),
    };
    this.appendAsLeader([entry]);
    return entry.index;
  }

  /** Thesis §3.10: hand leadership to `to` once its log is up to date. */
  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') {
      throw new RaftError('NotLeader', `node ${this.id} is not the leader`, { leaderHint: this.leader });
    }
    if (to === this.id || !this.tracker.isVoter(to)) {
      throw new RaftError('InvalidTransferTarget', `${to} is not another voter of this cluster`);
    }
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.transferElapsed = 0;
    const progress = this.tracker.progress.get(to) as Progress;
    if (progress.matchIndex === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.replicateTo(to, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.reads.invalidateLease();
    this.send({ type: 'TimeoutNow', from: this.id, to, term: this.term });
  }

  /**
   * Thesis §6.4: a linearizable read. On the leader it records the commit index and confirms
   * leadership with a heartbeat round (or the lease); on a follower it asks the leader. The answer
   * is a `ReadState`; a read that cannot be served (leadership lost) is dropped and the caller
   * retries after its own timeout.
   */
  readIndex(requestId: number, mode: ReadMode): void {
    if (this.role === 'leader') {
      this.reads.request({ requestId, from: this.id, lease: mode === 'lease' }, this.now);
    } else if (this.leader !== null) {
      this.send({
        type: 'ReadIndexRequest',
        from: this.id,
        to: this.leader,
        term: this.term,
        requestId,
        lease: mode === 'lease',
      });
    }
  }

  /** Thesis §6.4.1 on the leader: the index a lease read may observe now, or null (see `LeaderReads.readNow`). */
  leaseReadIndex(): Index | null {
    return this.role === 'leader' ? this.reads.readNow(this.now) : null;
  }

  private isSoleVoter(): boolean {
    const { voters, votersOutgoing } = this.tracker.membership;
    return votersOutgoing.length === 0 && voters.length === 1 && voters[0] === this.id;
  }

  private releaseRead(read: PendingRead): void {
    if (read.from === this.id) {
      this.readStates.push({ requestId: read.requestId, index: read.index });
      return;
    }
    const response: ReadIndexResponse = {
      type: 'ReadIndexResponse',
      from: this.id,
      to: read.from,
      term: this.term,
      requestId: read.requestId,
      readIndex: read.index,
      ok: true,
    };
    this.send(response);
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.commitIndex) === this.term;
  }

  /**
   * The transport reports how sending a snapshot to `to` ended (etcd-io/raft's ReportSnapshot).
   * On failure the leader goes back to probing at once instead of waiting for its own timer; on
   * success it waits for the follower's acknowledgement, which carries the index it now holds.
   */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const progress = this.role === 'leader' ? this.tracker.progress.get(to) : undefined;
    if (progress?.state === 'snapshot' && !ok) progress.snapshotFailed();
  }

  /** The application persisted the log up to (`index`, `term`). */
  persisted(index: Index, term: Term): void {
    this.log.stableTo(index, term);
    if (this.role !== 'leader') return;
    // Thesis §10.2.1: the leader counts itself toward a commit quorum only once its own entries
    // are durable, even though it replicated them before.
    const self = this.tracker.progress.get(this.id);
    if (self?.acknowledge(this.log.stableIndex) && this.maybeCommit()) {
      this.pendingCommitBroadcast = true;
      this.afterCommit();
    }
  }

  /**
   * Sends the entries gathered since the last Ready, one AppendEntries per follower, and starts
   * a heartbeat round for the reads that arrived meanwhile: batching happens here.
   */
  flushBroadcast(): void {
    if (this.role !== 'leader') return;
    if (this.pendingBroadcast || this.pendingCommitBroadcast) {
      const evenIfEmpty = this.pendingCommitBroadcast;
      this.pendingBroadcast = false;
      this.pendingCommitBroadcast = false;
      this.broadcastAppend(evenIfEmpty);
    }
    if (this.reads.hasUnsent()) this.broadcastHeartbeat();
  }

  hasPendingBroadcast(): boolean {
    return (
      this.role === 'leader' &&
      (this.pendingBroadcast || this.pendingCommitBroadcast || this.reads.hasUnsent())
    );
  }

  /** The application stored a snapshot of its applied state: drop the log up to there. */
  compact(snapshot: Snapshot): void {
    if (snapshot.meta.index > this.log.appliedIndex) {
      throw new RaftError(
        'SnapshotOutOfDate',
        `snapshot at ${snapshot.meta.index} is beyond applied ${this.log.appliedIndex}`,
      );
    }
    if (snapshot.meta.index <= this.log.snapshotIndex) {
      throw new RaftError(
        'SnapshotOutOfDate',
        `snapshot at ${snapshot.meta.index} is not newer than ${this.log.snapshotIndex}`,
      );
    }
    if (this.log.term(snapshot.meta.index) !== snapshot.meta.term) {
      throw new Error(`snapshot term ${snapshot.meta.term} disagrees with the log at ${snapshot.meta.index}`);
    }
    this.log.compact(snapshot);
  }

  // ---------------------------------------------------------------------------------------------
  // Role changes: each resets everything the role owns, in one place.

  private reset(term: Term): void {
    if (term !== this.term) {
      this.term = term;
      this.votedFor = null;
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.pendingBroadcast = false;
    this.pendingCommitBroadcast = false;
    this.uncommittedBytes = 0;
    this.leadTransferee = null;
    this.transferElapsed = 0;
    // The lease ends one tick before followers would vote again: clocks may drift by that much.
    this.reads = new LeaderReads(
      this.readHost,
      this.config.electionTicks - 1,
      this.mutations.skipReadIndexRound === true,
    );
    this.tracker.votes.clear();
    this.tracker.progress.clear();
    // Raft §5.2: randomized timeouts in [T, 2T) make split votes rare.
    this.randomizedElectionTimeout =
      this.config.electionTicks + Math.floor(this.random() * this.config.electionTicks);
  }

  private becomeFollower(term: Term, leader: NodeId | null): void {
    this.reset(term);
    this.leader = leader;
    this.setRole('follower');
  }

  private becomePreCandidate(): void {
    // Thesis §9.6: a pre-candidate keeps its term and vote; it only asks whether it could win.
    this.reset(this.term);
    this.setRole('preCandidate');
  }

  private becomeCandidate(): void {
    this.reset((this.term + 1) as Term);
    this.votedFor = this.id;
    this.setRole('candidate');
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.leader = this.id;
    this.setRole('leader');
    this.tracker.resetProgress(this.log.lastIndex());
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) {
      self.acknowledge(this.log.stableIndex);
      self.becomeReplicate();
    }
    // Raft §8: a new leader commits an empty entry of its own term, which also commits every
    // earlier entry (Figure 8: entries of old terms are never committed by counting replicas).
    this.appendAsLeader([
      {
        index: (this.log.lastIndex() + 1) as Index,
        term: this.term,
        type: 'normal',
        data: new Uint8Array(0),
      },
    ]);
    this.pendingBroadcast = true;
  }

  private setRole(role: Role): void {
    if (this.role !== role) {
      this.config.logger.info(`became ${role}`, { id: this.id, term: this.term, leader: this.leader });
    }
    this.role = role;
  }

  private startCampaign(kind: CampaignKind): void {
    if (!this.promotable()) {
      this.config.logger.debug('not campaigning: not a voter', { id: this.id });
      return;
    }
    if (kind === 'preElection') this.becomePreCandidate();
    else this.becomeCandidate();
    const preVote = kind === 'preElection';
    const voteTerm = (preVote ? this.term + 1 : this.term) as Term;
    if (this.tracker.recordVote(this.id, true) === 'won') {
      // A cluster of one wins at once.
      if (preVote) this.startCampaign('election');
      else this.becomeLeader();
      return;
    }
    for (const id of this.tracker.members()) {
      if (id === this.id || !this.tracker.isVoter(id)) continue;
      this.send({
        type: 'RequestVote',
        from: this.id,
        to: id,
        term: voteTerm,
        preVote,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer: kind === 'transfer',
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Role-independent handling

  /** Raft §5.2 and §5.4.1: one vote per term, only for a log at least as up-to-date as ours. */
  private handleRequestVote(m: RequestVote): void {
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === null && this.leader === null) ||
      (m.preVote && m.term > this.term) ||
      (this.mutations.grantTwoVotesPerTerm === true && !m.preVote);
    const upToDate =
      this.mutations.skipLogUpToDateCheck === true || this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
    const granted = canVote && upToDate;
    if (granted && !m.preVote) {
      this.electionElapsed = 0;
      this.votedFor = m.from;
    }
    this.send({
      type: 'RequestVoteResponse',
      from: this.id,
      to: m.from,
      // A granted pre-vote answers at the term the candidate would use, so it counts it.
      term: granted && m.preVote ? m.term : this.term,
      preVote: m.preVote,
      granted,
    });
  }

  /** A message from an earlier term. Mostly ignored, but some senders must learn they are stale. */
  private answerStale(m: Message): void {
    if (m.type === 'AppendEntries' || m.type === 'Heartbeat') {
      // A leader cut off by a partition may never hear of the newer term otherwise: with Pre-Vote
      // and CheckQuorum nobody else will send it a higher-term vote request.
      this.send({
        type: 'AppendEntriesResponse',
        from: this.id,
        to: m.from,
        term: this.term,
        success: false,
        index: 0 as Index,
        conflictIndex: 0 as Index,
        conflictTerm: 0 as Term,
      });
    } else if (m.type === 'RequestVote' && m.preVote) {
      this.send({
        type: 'RequestVoteResponse',
        from: this.id,
        to: m.from,
        term: this.term,
        preVote: true,
        granted: false,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Followers and candidates

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.startCampaign(this.config.preVote ? 'preElection' : 'election');
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'AppendEntries':
        this.heardFromLeader(m.from);
        this.handleAppendEntries(m);
        return;
      case 'Heartbeat':
        this.heardFromLeader(m.from);
        this.handleHeartbeat(m);
        return;
      case 'InstallSnapshot':
        this.heardFromLeader(m.from);
        this.handleInstallSnapshot(m);
        return;
      case 'TimeoutNow':
        // Thesis §3.10: the leader chose us; campaign at once, skipping Pre-Vote, and tell voters
        // to disregard their leader lease for this one election.
        this.config.logger.info('campaigning on TimeoutNow', { id: this.id, from: m.from });
        this.startCampaign('transfer');
        return;
      case 'ReadIndexResponse':
        if (m.ok) this.readStates.push({ requestId: m.requestId, index: m.readIndex });
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'AppendEntries':
      case 'Heartbeat':
      case 'InstallSnapshot':
        // Someone won this term (Raft §5.2): go back to following.
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        return;
      case 'RequestVoteResponse':
        this.handleVoteResponse(m);
        return;
      default:
        return;
    }
  }

  private handleVoteResponse(m: RequestVoteResponse): void {
    if (m.preVote !== (this.role === 'preCandidate')) return;
    switch (this.tracker.recordVote(m.from, m.granted)) {
      case 'won':
        if (this.role === 'preCandidate') this.startCampaign('election');
        else this.becomeLeader();
        return;
      case 'lost':
        this.becomeFollower(this.term, null);
        return;
      case 'pending':
        return;
    }
  }

  private heardFromLeader(leader: NodeId): void {
    this.electionElapsed = 0;
    this.leader = leader;
  }

  /** Raft §5.3, the receiver side of AppendEntries. */
  private handleAppendEntries(m: AppendEntries): void {
    const reply = (success: boolean, index: Index, conflict = { index: 0 as Index, term: 0 as Term }) =>
      this.send({
        type: 'AppendEntriesResponse',
        from: this.id,
        to: m.from,
        term: this.term,
        success,
        index,
        conflictIndex: conflict.index,
        conflictTerm: conflict.term,
      });
    if (m.prevLogIndex < this.log.commitIndex) {
      // Our log up to the commit index is settled and the leader's agrees with it (Leader
      // Completeness); tell the leader where we stand so it continues from there.
      reply(true, this.log.commitIndex);
      return;
    }
    if (!this.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      const probeFrom = Math.min(m.prevLogIndex, this.log.lastIndex()) as Index;
      reply(false, m.prevLogIndex, this.log.findConflictByTerm(probeFrom, m.prevLogTerm));
      return;
    }
    this.log.appendFromLeader(m.entries);
    this.syncMembership();
    const lastNewIndex = (m.prevLogIndex + m.entries.length) as Index;
    this.log.commitTo(Math.min(m.leaderCommit, lastNewIndex) as Index);
    reply(true, lastNewIndex);
  }

  private handleHeartbeat(m: Heartbeat): void {
    // The leader caps the commit index at what it knows we hold, so this never passes our log.
    this.log.commitTo(Math.min(m.commitIndex, this.log.lastIndex()) as Index);
    const response: HeartbeatResponse = {
      type: 'HeartbeatResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      readRound: m.readRound,
    };
    this.send(response);
  }

  /** Raft §7, the receiver side of InstallSnapshot. */
  private handleInstallSnapshot(m: InstallSnapshot): void {
    const { meta } = m.snapshot;
    let index = meta.index;
    if (meta.index <= this.log.commitIndex) {
      index = this.log.commitIndex;
    } else if (this.log.matchTerm(meta.index, meta.term)) {
      // Receiver rule 6: our log already holds the snapshot's last entry; keep what follows it.
      this.log.commitTo(meta.index);
    } else {
      this.config.logger.info('restoring snapshot from leader', {
        id: this.id,
        index: meta.index,
        term: meta.term,
      });
      this.log.restore(m.snapshot);
      this.syncMembership();
    }
    this.send({
      type: 'AppendEntriesResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      success: true,
      index,
      conflictIndex: 0 as Index,
      conflictTerm: 0 as Term,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Leaders

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        // Thesis §6.2: a leader that has not heard from a quorum for an election timeout may have
        // been replaced on the other side of a partition; stepping down stops it serving clients.
        if (!this.tracker.quorumActive(this.id)) {
          this.config.logger.warn('stepping down: no quorum heard from', { id: this.id, term: this.term });
          this.becomeFollower(this.term, null);
          return;
        }
        for (const [id, progress] of this.tracker.progress) progress.recentActive = id === this.id;
      }
      this.retrySnapshots();
    }
    if (this.leadTransferee !== null && ++this.transferElapsed >= this.config.electionTicks) {
      this.config.logger.warn('leadership transfer timed out', { to: this.leadTransferee });
      this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /**
   * A snapshot still unacknowledged after a whole election timeout was probably lost (the network
   * may drop anything): fall back to probing, which sends it again if it is still needed.
   */
  private retrySnapshots(): void {
    for (const progress of this.tracker.progress.values()) {
      if (progress.state !== 'snapshot') continue;
      if (progress.snapshotRounds++ >= 1) progress.snapshotFailed();
    }
  }

  private stepLeader(m: Message): void {
    const progress = this.tracker.progress.get(m.from);
    if (progress === undefined) return;
    switch (m.type) {
      case 'AppendEntriesResponse':
        progress.recentActive = true;
        if (m.success) this.handleAppendAccepted(m.from, progress, m);
        else this.handleAppendRejected(m.from, progress, m);
        return;
      case 'HeartbeatResponse':
        progress.heardFrom();
        if (m.readRound > progress.ackedRound) {
          progress.ackedRound = m.readRound;
          this.reads.confirmed();
        }
        // Even with nothing new to send, an empty AppendEntries makes a follower that lost our
        // last messages reject it, which moves it back to probing and repairs the gap.
        if (progress.matchIndex < this.log.lastIndex()) this.replicateTo(m.from, true);
        return;
      case 'ReadIndexRequest':
        this.reads.request({ requestId: m.requestId, from: m.from, lease: m.lease }, this.now);
        return;
      case 'Propose':
        // Only a leader answers a Propose, and each request once. Other roles drop it unanswered:
        // passing it on could bounce it between two nodes that each think the other leads, and a
        // refusal promises it was never appended, which a node restarted since it led cannot know.
        if (this.firstCopy(m)) this.answerProposals(m, this.appendProposed(m.entries));
        return;
      default:
        return;
    }
  }

  private handleAppendAccepted(from: NodeId, progress: Progress, m: AppendEntriesResponse): void {
    if (!progress.acknowledge(m.index)) return;
    if (progress.state === 'probe') progress.becomeReplicate();
    else if (progress.state === 'snapshot' && progress.matchIndex >= progress.pendingSnapshot) {
      progress.becomeProbe();
      progress.becomeReplicate();
    }
    if (this.maybeCommit()) {
      // Followers learn the new commit index with the next AppendEntries; send it now rather
      // than at the next heartbeat so that they apply without delay.
      this.broadcastAppend(true);
      this.afterCommit();
    } else {
      this.replicateTo(from);
    }
    if (from === this.leadTransferee && progress.matchIndex === this.log.lastIndex())
      this.sendTimeoutNow(from);
  }

  /** Leader duties that wait on the commit index: deferred reads, leaving joint, stepping down. */
  private afterCommit(): void {
    if (this.role !== 'leader' || !this.committedInCurrentTerm()) return;
    this.reads.ownTermCommitted(this.now);
    if (this.log.latestConfigIndex() > this.log.commitIndex) return;
    if (isJoint(this.log.membership())) {
      // Thesis §4.3: once C_old,new is committed the leader moves on to C_new by itself.
      this.appendConfig(leaveJoint);
    } else if (!this.tracker.isVoter(this.id)) {
      // Thesis §4.2.2: a leader removed from the configuration steps down once that is committed.
      this.config.logger.info('stepping down: removed from the configuration', { id: this.id });
      this.becomeFollower(this.term, null);
    }
  }

  private handleAppendRejected(from: NodeId, progress: Progress, m: AppendEntriesResponse): void {
    // Fast back-off (Raft §5.3): skip every entry of ours whose term is above the follower's
    // conflicting term; they cannot match.
    const probeAt =
      m.conflictTerm > 0
        ? this.log.findConflictByTerm(m.conflictIndex, m.conflictTerm).index
        : m.conflictIndex;
    if (!progress.rejected(m.index, probeAt)) return;
    if (progress.state === 'replicate') progress.becomeProbe();
    this.replicateTo(from);
  }

  /** Raft §5.3/§5.4.2: commit the highest index on a quorum, but only an entry of our own term. */
  private maybeCommit(): boolean {
    const quorumIndex = this.tracker.committedIndex();
    if (quorumIndex <= this.log.commitIndex) return false;
    if (this.log.term(quorumIndex) !== this.term && this.mutations.commitOldTermByCounting !== true)
      return false;
    const previous = this.log.commitIndex;
    this.log.commitTo(quorumIndex);
    for (let i = previous + 1; i <= quorumIndex; i++) {
      this.uncommittedBytes -= this.log.entryAt(i as Index)?.data.byteLength ?? 0;
    }
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
    return true;
  }

  private appendAsLeader(entries: Entry[]): void {
    this.log.appendOwn(entries);
    this.syncMembership();
    for (const entry of entries) this.uncommittedBytes += entry.data.byteLength;
    this.pendingBroadcast = true;
  }

  /** Sends every follower what it is missing; with `evenIfEmpty`, an empty one carrying the commit index. */
  private broadcastAppend(evenIfEmpty = false): void {
    for (const id of this.tracker.progress.keys()) {
      if (id !== this.id) this.replicateTo(id, evenIfEmpty);
    }
  }

  /**
   * Sends AppendEntries to one follower: one probe in `probe` state, a pipeline of messages up to
   * the in-flight limit in `replicate` state, or the snapshot when the entries it needs are gone.
   */
  private replicateTo(to: NodeId, evenIfEmpty = false): void {
    const progress = this.tracker.progress.get(to);
    if (progress === undefined) return;
    let sentOne = false;
    while (!progress.isPaused()) {
      const prevLogIndex = (progress.nextIndex - 1) as Index;
      const prevLogTerm = this.log.term(prevLogIndex);
      if (prevLogTerm === undefined) {
        this.sendSnapshot(to, progress);
        return;
      }
      const hasEntries = progress.nextIndex <= this.log.lastIndex();
      if (!hasEntries && (sentOne || !evenIfEmpty)) return;
      const entries = hasEntries
        ? this.log.slice(progress.nextIndex, (this.log.lastIndex() + 1) as Index, this.config.maxMessageBytes)
        : [];
      this.send({
        type: 'AppendEntries',
        from: this.id,
        to,
        term: this.term,
        prevLogIndex,
        prevLogTerm,
        entries,
        leaderCommit: this.log.commitIndex,
      });
      const last = entries.at(-1);
      progress.sentAppend(last === undefined ? null : last.index);
      sentOne = true;
      if (progress.state !== 'replicate') return;
    }
  }

  private sendSnapshot(to: NodeId, progress: Progress): void {
    const snapshot = this.log.snapshot;
    this.config.logger.info('sending snapshot', { to, index: snapshot.meta.index });
    progress.becomeSnapshot(snapshot.meta.index);
    this.send({ type: 'InstallSnapshot', from: this.id, to, term: this.term, snapshot });
  }

  private broadcastHeartbeat(): void {
    const readRound = this.reads.startRound(this.now);
    for (const [id, progress] of this.tracker.progress) {
      if (id === this.id) continue;
      this.send({
        type: 'Heartbeat',
        from: this.id,
        to: id,
        term: this.term,
        commitIndex: Math.min(progress.matchIndex, this.log.commitIndex) as Index,
        readRound,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** A configuration is in force as soon as it is in the log (thesis §4.1), committed or not. */
  private syncMembership(): void {
    const membership = this.log.membership();
    if (membership !== this.tracker.membership) {
      this.tracker.applyMembership(membership, this.log.lastIndex(), this.role === 'leader');
    }
  }

  private send(m: Message): void {
    if (this.role === 'leader') this.messages.push(m);
    else this.messagesAfterPersist.push(m);
  }

  /**
   * May this node campaign? A voter of its latest configuration may; so may a node whose removal
   * is not committed yet, since the cluster may still need its vote and its log to elect anyone
   * (thesis §4.2.2: "it might still be needed until the C_new entry is committed").
   */
  private promotable(): boolean {
    if (this.log.pendingSnapshot !== null) return false;
    return this.tracker.isVoter(this.id) || isVoter(this.log.membershipAt(this.log.commitIndex), this.id);
  }

  /**
   * We heard from a leader less than an election timeout ago (or we are it), or we restarted
   * less than one ago. The restart case keeps lease reads safe (thesis §6.4.1): before a crash
   * this node may have answered a heartbeat that extended some leader's lease, and it forgot
   * that, so it must not help elect anyone else until that lease has surely run out.
   */
  private inLease(): boolean {
    return (
      (this.leader !== null && this.electionElapsed < this.config.electionTicks) || this.now < this.bootLease
    );
  }

  assertInvariants(): void {
    this.log.assertInvariants();
    if (this.role === 'leader' && this.leader !== this.id)
      throw new Error('leader does not name itself leader');
    if (this.role === 'candidate' && this.votedFor !== this.id)
      throw new Error('candidate did not vote for itself');
    for (const [id, progress] of this.tracker.progress) {
      if (progress.matchIndex >= progress.nextIndex) {
        throw new Error(`progress of ${id}: match ${progress.matchIndex} >= next ${progress.nextIndex}`);
      }
    }
  }
}
