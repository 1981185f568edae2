import { Progress } from './progress.ts';
import { allVoters, isQuorum, quorumMatchedIndex, type VoteResult, voteResult } from './quorum.ts';
import type { Index, Membership, NodeId } from './types.ts';

/**
 * The membership in force plus, on a leader, the replication progress of every member and, on
 * a candidate, the votes received (etcd-io/raft's tracker package). Reset wholesale on every role
 * change so no role ever sees another's leftovers.
 */
export class ProgressTracker {
  membership: Membership;
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    membership: Membership,
    private readonly maxInflight: number,
  ) {
    this.membership = membership;
  }

  /** Every member that receives the log: voters of both halves and learners. */
  members(): NodeId[] {
    return [...new Set([...allVoters(this.membership), ...this.membership.learners])];
  }

  /** Fresh progress for every member, as a new leader starts (Raft Figure 2: nextIndex = last + 1). */
  resetProgress(lastIndex: Index): void {
    this.progress.clear();
    for (const id of this.members()) this.addProgress(id, lastIndex);
  }

  addProgress(id: NodeId, lastIndex: Index): void {
    const isLearner = !allVoters(this.membership).includes(id);
    this.progress.set(id, new Progress((lastIndex + 1) as Index, isLearner, this.maxInflight));
  }

  /** Brings the progress map in line with a new membership, keeping what is known of old members. */
  applyMembership(membership: Membership, lastIndex: Index, isLeader: boolean): void {
    this.membership = membership;
    if (!isLeader) return;
    const members = new Set(this.members());
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    const voters = allVoters(membership);
    for (const id of members) {
      const existing = this.progress.get(id);
      if (existing === undefined) this.addProgress(id, lastIndex);
      else existing.isLearner = !voters.includes(id);
    }
  }

  /** The index replicated on a quorum of voters (Raft §5.3). */
  committedIndex(): Index {
    return quorumMatchedIndex(this.membership, (id) => this.progress.get(id)?.matchIndex ?? (0 as Index));
  }

  recordVote(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.membership, this.votes);
  }

  /** CheckQuorum (thesis §6.2): has a quorum been heard from since the last round? */
  quorumActive(self: NodeId): boolean {
    return isQuorum(this.membership, (id) => id === self || this.progress.get(id)?.recentActive === true);
  }

  isVoter(id: NodeId): boolean {
    return allVoters(this.membership).includes(id);
  }
}
