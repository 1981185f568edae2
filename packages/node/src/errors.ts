import type { NodeId } from '@raftkit/core';

/**
 * Why a driver call failed. Compared by `code`, never by message text.
 *
 * Whether the operation may still take effect matters to a client deciding to retry:
 * - `NotLeader`, `Busy`, `ConfigChangeInProgress`, `LearnerCatchingUp`, `InvalidConfigChange`,
 *   `TransferInProgress`,
 *   `InvalidTransferTarget`, `EntryTooLarge`, `ReadUnavailable` and `Dropped` mean it did not and will not happen;
 * - `Timeout`, `Stopped` and `Fatal` mean the outcome is unknown: it may have been applied.
 */
export type RaftNodeErrorCode =
  /** This node cannot take the request; `leader` and `leaderUrl` name the one it knows of, if any. */
  | 'NotLeader'
  /** No answer in time; the write may still be applied later (or already was). */
  | 'Timeout'
  /** A bounded queue is full; back off and retry. */
  | 'Busy'
  /** The node was stopped (or is stopping) before the request completed. */
  | 'Stopped'
  /** The entry was overwritten by another leader's entry at the same index: it will never apply. */
  | 'Dropped'
  /** Another membership change is still in progress; retry after it completes. */
  | 'ConfigChangeInProgress'
  /** The learner to promote has not caught up with the log yet; retry shortly. */
  | 'LearnerCatchingUp'
  /** The membership change would break an invariant (e.g. remove the last voter). */
  | 'InvalidConfigChange'
  /** Leadership is being handed over; proposals resume once a leader is settled. */
  | 'TransferInProgress'
  /** `transferLeadership` to a node that is not another voter. */
  | 'InvalidTransferTarget'
  /**
   * A linearizable or lease read was not served in time: no quorum confirmed it (none reachable),
   * or this node did not catch up to its read index. A read changes nothing, so unlike a write's
   * `Timeout` there is no unknown outcome: retry it.
   */
  | 'ReadUnavailable'
  /** The entry is larger than the transport can carry to a peer (`Transport.maxEntryBytes`): it could never replicate. */
  | 'EntryTooLarge'
  /** The node hit a storage or state-machine failure and stopped; `cause` holds it. */
  | 'Fatal';

/**
 * Why a `RaftNode` call failed, by `code` (see `RaftNodeErrorCode` for which codes mean the operation may
 * still take effect).
 */
export class RaftNodeError extends Error {
  readonly code: RaftNodeErrorCode;
  /** For `NotLeader`: the leader this node knows of, or null when none is known. */
  readonly leader: NodeId | null;
  /** For `NotLeader`: where that leader listens, when known. */
  readonly leaderUrl: string | null;

  constructor(
    code: RaftNodeErrorCode,
    message: string,
    options: { leader?: NodeId | null; leaderUrl?: string | null; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RaftNodeError';
    this.code = code;
    this.leader = options.leader ?? null;
    this.leaderUrl = options.leaderUrl ?? null;
  }
}

/** Whether `e` is a `RaftNodeError`, optionally of the given `code`; narrows the type. */
export const isRaftNodeError = (e: unknown, code?: RaftNodeErrorCode): e is RaftNodeError =>
  e instanceof RaftNodeError && (code === undefined || e.code === code);
