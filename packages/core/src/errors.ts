import type { NodeId } from './types.ts';

/**
 * Expected outcomes the caller must handle. Compared by `code`, never by message text.
 * A broken invariant is not one of these: it throws a plain `Error` (a bug, never a value).
 */
export type RaftErrorCode =
  /** This node is not the leader; `leaderHint` names the one it knows of, if any. */
  | 'NotLeader'
  /** The leader is handing over leadership and accepts no proposals until that ends. */
  | 'TransferInProgress'
  /** Another membership change is still pending; retry after it commits. */
  | 'ConfigChangeInProgress'
  /** Promoting a learner that has not caught up with the log yet; retry once it has. */
  | 'LearnerCatchingUp'
  /** A membership change that would break an invariant (e.g. remove the last voter). */
  | 'InvalidConfigChange'
  /** A leadership transfer to a node that is not a voter. */
  | 'InvalidTransferTarget'
  /** A message from outside failed validation and was ignored. */
  | 'InvalidMessage'
  /** Too many uncommitted bytes; back off and retry. */
  | 'Busy'
  /** A snapshot request for an index this node has not applied, or one older than the last. */
  | 'SnapshotOutOfDate';

/**
 * An expected refusal from the core, compared by `code`, never by message text. Thrown before anything
 * changes: the node's state is as it was before the call.
 */
export class RaftError extends Error {
  readonly code: RaftErrorCode;
  readonly leaderHint: NodeId | null;

  constructor(
    code: RaftErrorCode,
    message: string,
    options: { leaderHint?: NodeId | null; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RaftError';
    this.code = code;
    this.leaderHint = options.leaderHint ?? null;
  }
}

/** Whether `e` is a `RaftError`, optionally of the given `code`; narrows the type. */
export const isRaftError = (e: unknown, code?: RaftErrorCode): e is RaftError =>
  e instanceof RaftError && (code === undefined || e.code === code);
