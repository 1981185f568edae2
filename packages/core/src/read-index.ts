import type { Index, NodeId } from './types.ts';

/** A read waiting on the leader: whose it is, and the commit index it must observe. */
export interface PendingRead {
  readonly requestId: number;
  /** The node whose client asked; the leader itself or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly index: Index;
}

/**
 * Leader-side bookkeeping of linearizable reads (thesis §6.4). Heartbeats are numbered in rounds;
 * a read records the commit index and joins the next round, and is released once a quorum has
 * answered a heartbeat of that round or a later one: at that moment no other leader can have
 * existed when the read arrived, so the recorded commit index covers every write that completed
 * before it. All reads that arrive between two rounds share one heartbeat round.
 *
 * The same rounds time the lease (thesis §6.4.1): a quorum that answered a round sent at tick t
 * will not vote for anybody else before t + electionTicks, so until then the leader may serve
 * reads without a round of their own.
 */
export class ReadIndexTracker {
  /** The latest round sent. Round numbers only grow within one leadership. */
  private round = 0;
  /** The tick at which each still-interesting round was sent. */
  private readonly sentAt = new Map<number, number>();
  /** Reads waiting for their round to be confirmed, keyed by round. */
  private readonly waiting = new Map<number, PendingRead[]>();
  /** Reads recorded since the last round went out; they join the next one. */
  private unsent: PendingRead[] = [];
  /** Rounds at or below this number may not extend the lease (see `invalidateLease`). */
  private leaseBarrier = 0;

  /** Queues a read for the next round. */
  add(read: PendingRead): void {
    this.unsent.push(read);
  }

  hasUnsent(): boolean {
    return this.unsent.length > 0;
  }

  /** Starts a heartbeat round at `tick`; the reads queued so far wait on it. */
  startRound(tick: number): number {
    this.round++;
    this.sentAt.set(this.round, tick);
    if (this.unsent.length > 0) {
      this.waiting.set(this.round, this.unsent);
      this.unsent = [];
    }
    return this.round;
  }

  get currentRound(): number {
    return this.round;
  }

  /**
   * A quorum has answered round `confirmed` or later: returns the reads it releases and forgets
   * rounds that can no longer matter.
   */
  confirm(confirmed: number): PendingRead[] {
    const released: PendingRead[] = [];
    for (const [round, reads] of this.waiting) {
      if (round <= confirmed) {
        released.push(...reads);
        this.waiting.delete(round);
      }
    }
    for (const round of this.sentAt.keys()) if (round < confirmed) this.sentAt.delete(round);
    return released;
  }

  /** Whether a lease based on round `confirmed` still holds at `tick`, given its length. */
  leaseHolds(confirmed: number, tick: number, leaseTicks: number): boolean {
    if (confirmed <= this.leaseBarrier) return false;
    const sent = this.sentAt.get(confirmed);
    return sent !== undefined && tick < sent + leaseTicks;
  }

  /**
   * After TimeoutNow the target may win an election while our old rounds still look fresh: voters
   * ignore the lease for a transfer. Only rounds sent after this point may extend the lease.
   */
  invalidateLease(): void {
    this.leaseBarrier = this.round;
  }
}
