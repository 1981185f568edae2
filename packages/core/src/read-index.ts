import type { Index, NodeId } from './types.ts';

/** A read request as the leader receives it, from one of its own clients or from a follower. */
export interface ReadRequest {
  readonly requestId: number;
  /** The node whose client asked; the leader itself or a follower that forwarded the request. */
  readonly from: NodeId;
  /** The client accepts a lease read (thesis §6.4.1). */
  readonly lease: boolean;
}

/** A read the leader may answer: whose it is, and the commit index it must observe. */
export interface PendingRead {
  readonly requestId: number;
  readonly from: NodeId;
  readonly index: Index;
}

/** What the leader's read logic needs from the Raft state machine. */
export interface ReadHost {
  commitIndex(): Index;
  /** The leader has committed an entry of its own term (thesis §6.4 step 1). */
  committedInCurrentTerm(): boolean;
  /** The leader is the only voter: its own word is a quorum. */
  isSoleVoter(): boolean;
  /** Lease reads are possible at all: CheckQuorum is on and no transfer is under way. */
  leaseAllowed(): boolean;
  /** The latest heartbeat round a quorum has answered, the leader counting as `currentRound`. */
  confirmedRound(currentRound: number): number;
  /** Answers a read: a ReadState for the leader's own client, a ReadIndexResponse for a follower's. */
  release(read: PendingRead): void;
}

/**
 * Linearizable reads on the leader (thesis §6.4). Heartbeats are numbered in rounds; a read
 * records the commit index and joins the next round, and is released once a quorum has answered
 * a heartbeat of that round or a later one: at that moment no other leader can have existed when
 * the read arrived, so the recorded commit index covers every write that completed before it.
 * All reads that arrive between two rounds share one heartbeat round. A leader that has not yet
 * committed an entry of its own term may not know the latest commit index, so reads wait for it.
 *
 * The same rounds time the lease (thesis §6.4.1): a quorum that answered a round sent at tick t
 * will not vote for anybody else before t + electionTicks, so until then the leader may serve
 * reads without a round of their own.
 *
 * One instance lives for one leadership: a new leader starts afresh, and reads left waiting
 * when leadership is lost are dropped (the caller retries after its own timeout).
 */
export class LeaderReads {
  /** The latest round sent. Round numbers only grow within one leadership. */
  private round = 0;
  /** The tick at which each still-interesting round was sent. */
  private readonly sentAt = new Map<number, number>();
  /** Reads waiting for their round to be confirmed, keyed by round. */
  private readonly waiting = new Map<number, PendingRead[]>();
  /** Reads recorded since the last round went out; they join the next one. */
  private unsent: PendingRead[] = [];
  /** Reads that arrived before the leader committed an entry of its own term. */
  private deferred: ReadRequest[] = [];
  /** Rounds at or below this number may not extend the lease (see `invalidateLease`). */
  private leaseBarrier = 0;

  constructor(
    private readonly host: ReadHost,
    /** Ticks a lease lasts after the round that confirmed it was sent. */
    private readonly leaseTicks: number,
    /** Test-only mutation: answer at once, without confirming leadership (stale reads). */
    private readonly skipRound: boolean,
  ) {}

  /** A read arrives at tick `now`: answered at once, deferred, or queued for the next round. */
  request(read: ReadRequest, now: number): void {
    const pending: PendingRead = {
      requestId: read.requestId,
      from: read.from,
      index: this.host.commitIndex(),
    };
    if (this.skipRound) {
      this.host.release(pending);
    } else if (!this.host.committedInCurrentTerm()) {
      this.deferred.push(read);
    } else if ((read.lease && this.leaseHolds(now)) || this.host.isSoleVoter()) {
      this.host.release(pending);
    } else {
      this.unsent.push(pending);
    }
  }

  /**
   * The commit index a read may observe at tick `now` with no round of its own, or null when it
   * must join one: the lease holds (or the leader is the only voter), and the leader has
   * committed an entry of its own term, so the commit index is the latest.
   */
  readNow(now: number): Index | null {
    if (this.skipRound) return this.host.commitIndex();
    if (!this.host.committedInCurrentTerm()) return null;
    return this.leaseHolds(now) || this.host.isSoleVoter() ? this.host.commitIndex() : null;
  }

  /** The leader committed an entry of its own term: the reads that waited for it go ahead. */
  ownTermCommitted(now: number): void {
    const deferred = this.deferred;
    this.deferred = [];
    for (const read of deferred) this.request(read, now);
  }

  /** Reads are waiting for a heartbeat round to be sent. */
  hasUnsent(): boolean {
    return this.unsent.length > 0;
  }

  /** Starts a heartbeat round at tick `now`; the reads queued so far wait on it. */
  startRound(now: number): number {
    this.round++;
    this.sentAt.set(this.round, now);
    if (this.unsent.length > 0) {
      this.waiting.set(this.round, this.unsent);
      this.unsent = [];
    }
    if (this.host.isSoleVoter()) this.confirmed();
    return this.round;
  }

  /** A follower answered a heartbeat round: release every read a quorum has now confirmed. */
  confirmed(): void {
    const confirmed = this.host.confirmedRound(this.round);
    for (const [round, reads] of this.waiting) {
      if (round > confirmed) continue;
      this.waiting.delete(round);
      for (const read of reads) this.host.release(read);
    }
    for (const round of this.sentAt.keys()) if (round < confirmed) this.sentAt.delete(round);
  }

  /**
   * After TimeoutNow the target may win an election while our old rounds still look fresh: voters
   * ignore the lease for a transfer. Only rounds sent after this point may extend the lease.
   */
  invalidateLease(): void {
    this.leaseBarrier = this.round;
  }

  private leaseHolds(now: number): boolean {
    if (!this.host.leaseAllowed()) return false;
    const confirmed = this.host.confirmedRound(this.round);
    if (confirmed <= this.leaseBarrier) return false;
    const sent = this.sentAt.get(confirmed);
    return sent !== undefined && now < sent + this.leaseTicks;
  }
}
