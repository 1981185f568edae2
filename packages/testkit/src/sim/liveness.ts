import type { FaultMix } from './mixes.ts';

/** Liveness bounds in ticks, counted from the moment faults heal. */
export interface LivenessBounds {
  /** Until one node leads and every node follows it in its term. */
  readonly election: number;
  /** From a proposal to that stable leader until the leader applies it. */
  readonly commit: number;
}

/**
 * Bounds from first principles, never tuned to make a run pass. With the network healed:
 *
 * - A message takes at most `maxDelay`; its answer leaves only after the receiver's fsync (votes
 *   and acknowledgements are sent after persisting), and a node's next Ready may wait for the
 *   previous one's fsync: so a round trip takes at most `rt = 2 * (maxDelay + 2 * maxFsyncDelay)`.
 * - An election round is a pre-vote round trip, a vote round trip, and the new leader's first
 *   heartbeat reaching everyone (one more hop): `2 * rt + rt / 2`. Before each round, a follower
 *   waits out its randomized timeout, below `2 * electionTicks`; this also covers a restarted
 *   node's first timeout and followers ignoring votes for a lease after hearing a leader
 *   (CheckQuorum, thesis §6.2), both under `electionTicks`-multiples of that size.
 * - A round fails only when the vote splits, which needs three or more candidates whose
 *   randomized timeouts fall within one round trip of each other. We allow `electionRounds`
 *   rounds in a row; more than that is a bug, not bad luck, to be reported with its seed.
 * - A proposal commits once a quorum has it: one round trip when followers are in step. A
 *   follower behind (restarted, or on the wrong side of a partition) costs probe round trips
 *   (fast back-off skips a whole term per rejection) or one InstallSnapshot round trip; we allow
 *   `catchUpRounds` of them, plus a heartbeat interval for the leader to notice a follower.
 */
export function livenessBounds(
  raft: { readonly electionTicks: number; readonly heartbeatTicks: number },
  mix: Pick<FaultMix, 'maxDelay' | 'maxFsyncDelay'>,
): LivenessBounds {
  const roundTrip = 2 * (mix.maxDelay + 2 * mix.maxFsyncDelay);
  const round = 2 * raft.electionTicks + 2 * roundTrip + Math.ceil(roundTrip / 2);
  return {
    election: electionRounds * round,
    commit: raft.heartbeatTicks + (1 + catchUpRounds) * roundTrip,
  };
}

const electionRounds = 5;
const catchUpRounds = 4;
