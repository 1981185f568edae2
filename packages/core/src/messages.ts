import type { Entry, Index, NodeId, Snapshot, Term } from './types.ts';

/**
 * Messages between Raft peers. Every message names its sender, its receiver and the sender's
 * term; the receiver settles the term first (Raft §5.1) and only then looks at the rest.
 */
interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** Raft §5.2, §5.4.1. With `preVote` set this is the thesis §9.6 probe: nobody changes state. */
export interface RequestVote extends Envelope {
  readonly type: 'RequestVote';
  readonly preVote: boolean;
  readonly lastLogIndex: Index;
  readonly lastLogTerm: Term;
  /** Set when campaigning on the leader's TimeoutNow: voters must not ignore it for a lease. */
  readonly transfer: boolean;
}

/**
 * The answer to a `RequestVote` (Raft §5.2), or to a pre-vote (thesis §9.6) when `preVote` is set: a
 * pre-vote grant changes no term and records no vote.
 */
export interface RequestVoteResponse extends Envelope {
  readonly type: 'RequestVoteResponse';
  readonly preVote: boolean;
  readonly granted: boolean;
}

/** Raft §5.3. An empty `entries` still carries the commit index forward. */
export interface AppendEntries extends Envelope {
  readonly type: 'AppendEntries';
  readonly prevLogIndex: Index;
  readonly prevLogTerm: Term;
  readonly entries: readonly Entry[];
  readonly leaderCommit: Index;
}

/**
 * The answer to an `AppendEntries` (Raft §5.3): whether the follower's log matched at `prevLogIndex` and
 * took the entries.
 */
export interface AppendEntriesResponse extends Envelope {
  readonly type: 'AppendEntriesResponse';
  readonly success: boolean;
  /**
   * On success: the follower's log matches the leader's up to here. On rejection: the index
   * the leader probed (`prevLogIndex`), so a stale rejection can be recognized and ignored.
   */
  readonly index: Index;
  /**
   * On rejection, a hint for fast back-off (Raft §5.3, "the follower can include the term of the
   * conflicting entry and the first index it stores for that term"): the follower's last index
   * at or below the probed one whose term is at most `conflictTerm`. The leader jumps straight
   * past whole terms instead of retrying one index at a time.
   */
  readonly conflictIndex: Index;
  readonly conflictTerm: Term;
}

/**
 * Leader heartbeat (Raft §5.2). Kept apart from AppendEntries so that it can confirm leadership
 * for a read round (thesis §6.4) without touching the log. `commitIndex` is capped at the
 * follower's known match so a follower never learns of commits beyond its own log.
 */
export interface Heartbeat extends Envelope {
  readonly type: 'Heartbeat';
  readonly commitIndex: Index;
  /** The leader's read round this heartbeat confirms; 0 when none is pending. */
  readonly readRound: number;
}

/**
 * The answer to a `Heartbeat`; echoing `readRound` lets the leader count a quorum of acknowledgements for
 * the read-index rounds it started (thesis §6.4).
 */
export interface HeartbeatResponse extends Envelope {
  readonly type: 'HeartbeatResponse';
  readonly readRound: number;
}

/** Raft §7: the leader's log no longer holds what the follower needs. */
export interface InstallSnapshot extends Envelope {
  readonly type: 'InstallSnapshot';
  readonly snapshot: Snapshot;
}

/** Thesis §3.10: the leader asks the transfer target to campaign at once. */
export interface TimeoutNow extends Envelope {
  readonly type: 'TimeoutNow';
}

/** Thesis §6.4: a follower asks the leader for a read index on behalf of its clients. */
export interface ReadIndexRequest extends Envelope {
  readonly type: 'ReadIndexRequest';
  readonly requestId: number;
  /** The client accepts a lease read (thesis §6.4.1): the leader may skip the heartbeat round. */
  readonly lease: boolean;
}

/** The leader's answer to a follower's `ReadIndex` request, matched to it by `requestId`. */
export interface ReadIndexResponse extends Envelope {
  readonly type: 'ReadIndexResponse';
  readonly requestId: number;
  /** The index to wait for; meaningless when `ok` is false (the leader could not serve it). */
  readonly readIndex: Index;
  readonly ok: boolean;
}

/**
 * Why proposals were not appended (each a `RaftErrorCode` with the same meaning). A leader answers
 * `TransferInProgress` or `Busy`; `NotLeader` is a follower's own, when it knows no leader.
 */
export type ProposalRefusal = 'NotLeader' | 'TransferInProgress' | 'Busy';

/**
 * A follower passes proposals its clients made to the leader (thesis §6.2: clients may talk to any
 * server), so a forwarded write costs no request of its own: it travels with the Raft messages.
 */
export interface Propose extends Envelope {
  readonly type: 'Propose';
  /** Chosen by the follower; the answer carries it back. */
  readonly requestId: number;
  /** One or more commands, appended in this order at consecutive indexes. */
  readonly entries: readonly Uint8Array[];
}

/** The leader's answer to a `Propose`, matched to it by `requestId`. */
export interface ProposeResponse extends Envelope {
  readonly type: 'ProposeResponse';
  readonly requestId: number;
  /** Where the first entry was appended, in this message's term (the rest follow it); 0 when refused. */
  readonly index: Index;
  readonly refused: ProposalRefusal | null;
}

/**
 * Every message one core sends another; `type` tells them apart. Transports carry them as opaque values and
 * hand them to `RawNode.step`, which validates each field.
 */
export type Message =
  | RequestVote
  | RequestVoteResponse
  | AppendEntries
  | AppendEntriesResponse
  | Heartbeat
  | HeartbeatResponse
  | InstallSnapshot
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse
  | Propose
  | ProposeResponse;

/** The `type` tag of each `Message` variant. */
export type MessageType = Message['type'];
