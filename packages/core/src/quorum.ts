import type { Index, Membership, NodeId } from './types.ts';

/**
 * Pure arithmetic over votes and match indexes. A configuration is either one majority group
 * (`voters`) or, during joint consensus (thesis §4.3), two groups that must each agree.
 */

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The highest index that a majority of `voters` have matched. An empty group places no
 * constraint (it lets the joint computation fall through to the other group).
 */
function majorityMatched(voters: readonly NodeId[], matchOf: (id: NodeId) => Index): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  const matched = voters.map(matchOf).sort((a, b) => b - a);
  // With n voters, the entry at position floor(n/2) of the descending list is held by
  // floor(n/2) + 1 of them: a majority.
  return matched[Math.floor(voters.length / 2)] as number;
}

/** The index a quorum of the configuration has replicated (Raft §5.3, §5.4.2). */
export function quorumMatchedIndex(membership: Membership, matchOf: (id: NodeId) => Index): Index {
  const incoming = majorityMatched(membership.voters, matchOf);
  const outgoing = majorityMatched(membership.votersOutgoing, matchOf);
  const matched = Math.min(incoming, outgoing);
  return (Number.isFinite(matched) ? matched : 0) as Index;
}

function majorityVote(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const majority = Math.floor(voters.length / 2) + 1;
  if (granted >= majority) return 'won';
  if (granted + missing >= majority) return 'pending';
  return 'lost';
}

/** Outcome of an election: a joint configuration needs a majority of each group. */
export function voteResult(membership: Membership, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const incoming = majorityVote(membership.voters, votes);
  const outgoing = majorityVote(membership.votersOutgoing, votes);
  if (incoming === 'won' && outgoing === 'won') return 'won';
  if (incoming === 'lost' || outgoing === 'lost') return 'lost';
  return 'pending';
}

/** True when the nodes in `active` form a quorum of the configuration. */
export function isQuorum(membership: Membership, active: (id: NodeId) => boolean): boolean {
  const votes = new Map<NodeId, boolean>();
  for (const id of [...membership.voters, ...membership.votersOutgoing]) votes.set(id, active(id));
  return voteResult(membership, votes) === 'won';
}

/** Every node that votes in either half of the configuration, once. */
export function allVoters(membership: Membership): NodeId[] {
  return [...new Set([...membership.voters, ...membership.votersOutgoing])];
}

export const isVoter = (membership: Membership, id: NodeId): boolean =>
  membership.voters.includes(id) || membership.votersOutgoing.includes(id);
