import type { ProgressState } from './ready.ts';
import type { Index } from './types.ts';

/**
 * The leader's view of one follower's log, and how it replicates to it:
 *
 * - `probe`: the leader does not know where the follower's log ends. It sends one AppendEntries at
 *   a time and waits for the answer (or the next heartbeat response) before sending another, moving
 *   `nextIndex` back on each rejection (Raft §5.3).
 * - `replicate`: the follower's log is known to match up to `matchIndex`. The leader streams
 *   entries optimistically (pipelining), bounded by `maxInflight` unacknowledged messages.
 * - `snapshot`: the follower needs entries the leader has compacted; a snapshot is on its way and
 *   nothing else is sent until the follower acknowledges it (or it is reported lost).
 */
export class Progress {
  /** Invariant: `matchIndex < nextIndex`. */
  matchIndex: Index;
  nextIndex: Index;
  state: ProgressState = 'probe';
  /** In `probe`: a message went out and the leader waits before sending the next. */
  probeSent = false;
  /** In `snapshot`: the index of the snapshot being sent. */
  pendingSnapshot: Index = 0 as Index;
  /** In `snapshot`: CheckQuorum rounds the snapshot has gone unacknowledged. */
  snapshotRounds = 0;
  /** The latest heartbeat round the follower answered (see read-index.ts). */
  ackedRound = 0;
  /** Heard from since the leader's last CheckQuorum round (thesis §6.2). */
  recentActive = false;
  isLearner: boolean;
  /** Last index of each unacknowledged AppendEntries, oldest first (replicate state only). */
  private readonly inflight: Index[] = [];

  constructor(
    nextIndex: Index,
    isLearner: boolean,
    private readonly maxInflight: number,
  ) {
    this.matchIndex = 0 as Index;
    this.nextIndex = nextIndex;
    this.isLearner = isLearner;
  }

  get inflightCount(): number {
    return this.inflight.length;
  }

  /** Whether the leader must hold back AppendEntries to this follower for now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflight.length >= this.maxInflight;
      case 'snapshot':
        return true;
    }
  }

  becomeProbe(): void {
    // Coming back from a snapshot, the follower holds at least the snapshot: resume after it.
    const next =
      this.state === 'snapshot'
        ? Math.max(this.matchIndex + 1, this.pendingSnapshot + 1)
        : this.matchIndex + 1;
    this.reset('probe');
    this.nextIndex = next as Index;
  }

  /** The snapshot never arrived: probe again from what is known to match. */
  snapshotFailed(): void {
    this.pendingSnapshot = 0 as Index;
    this.becomeProbe();
  }

  becomeReplicate(): void {
    this.reset('replicate');
    this.nextIndex = (this.matchIndex + 1) as Index;
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.reset('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0 as Index;
    this.snapshotRounds = 0;
    this.inflight.length = 0;
  }

  /** Records an AppendEntries carrying entries up to `lastIndex` (or none: a probe). */
  sentAppend(lastIndex: Index | null): void {
    if (this.state === 'replicate') {
      if (lastIndex !== null) {
        this.nextIndex = (lastIndex + 1) as Index;
        this.inflight.push(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * The follower acknowledged its log up to `index`. Returns false for a stale acknowledgement
   * (reordered or duplicated), which changes nothing.
   */
  acknowledge(index: Index): boolean {
    if (index <= this.matchIndex) return false;
    this.matchIndex = index;
    if (this.nextIndex <= index) this.nextIndex = (index + 1) as Index;
    this.probeSent = false;
    while (this.inflight.length > 0 && (this.inflight[0] as Index) <= index) this.inflight.shift();
    return true;
  }

  /**
   * The follower rejected AppendEntries at `rejected`; `hint` is where the leader should probe
   * next (already derived from the follower's conflict hint). Returns false for a stale rejection.
   */
  rejected(rejected: Index, hint: Index): boolean {
    if (this.state === 'replicate') {
      // In replicate state only a rejection of an index past what we know matches is news;
      // anything else is a reordered reply to an earlier message.
      if (rejected <= this.matchIndex) return false;
      this.nextIndex = (this.matchIndex + 1) as Index;
      return true;
    }
    // In probe state only the answer to the probe we sent counts.
    if (this.nextIndex - 1 !== rejected) return false;
    this.nextIndex = Math.max(Math.min(rejected, hint + 1), this.matchIndex + 1) as Index;
    this.probeSent = false;
    return true;
  }

  /**
   * A heartbeat answer proves the follower is reachable: allow the next probe, and in replicate
   * state free one in-flight slot, since a full window may be full of lost messages.
   */
  heardFrom(): void {
    this.recentActive = true;
    if (this.state === 'probe') this.probeSent = false;
    else if (this.state === 'replicate' && this.inflight.length >= this.maxInflight) this.inflight.shift();
  }
}
