import type { Message, ProposalRefusal } from './messages.ts';
import type { Entry, HardState, Index, Membership, NodeId, Snapshot, Term } from './types.ts';

/**
 * A node's role. `preCandidate` is the pre-vote phase (thesis §9.6): it polls for votes without raising its
 * term, so a partitioned node cannot disrupt the cluster on return.
 */
export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state an observer may want to react to; never persisted. */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
}

/** A linearizable read that may be served once the state machine has applied `index`. */
export interface ReadState {
  /** The id the application gave to `readIndex()`. */
  readonly requestId: number;
  readonly index: Index;
}

/**
 * The outcome of proposals made with `forward()`: appended at `index`, `index + 1`, … in `term`
 * (each then commits or is overwritten like a local proposal), or refused, with why.
 */
export type ForwardedProposal =
  | { readonly requestId: number; readonly index: Index; readonly term: Term }
  | { readonly requestId: number; readonly refused: ProposalRefusal };

/**
 * One batch of work the core hands to the application. Handle it in this order, then call
 * `advance()`:
 *
 * 1. `messages` may be sent at once, in parallel with step 2: a leader's replication and
 *    heartbeats, and a follower's forwarded proposals (which promise nothing). Thesis §10.2.1
 *    lets a leader write its log in parallel with replicating it, because the core counts the leader toward a commit quorum only after
 *    `advance()` reports its own entries durable. A Ready whose term or vote is not yet durable has
 *    no `messages`: everything waits for step 2, so no message of a term leaves before the term.
 * 2. Persist `snapshot`, then `entries`, then `hardState`, durably (one fsync covers them all).
 *    `entries[0].index` may be at or below the stored last index: the stored suffix from there on
 *    conflicts and is replaced. A `snapshot` replaces every stored entry up to its index, and the
 *    whole log when the log disagrees with it at that index.
 * 3. Only then send `messagesAfterPersist`: votes and acknowledgements promise that what they
 *    acknowledge survives a crash (Raft §5.2: "respond to RPCs only after updating stable storage").
 *    When `mustSync` is false (only the commit index changed) steps 3 to 5 need not wait for
 *    the write of step 2, which must still complete before the next Ready's writes.
 * 4. Note where `forwarded` proposals were appended (an answer and the commit of what it answers
 *    can arrive in one Ready), then restore the state machine from `snapshot` if present, then
 *    apply `committedEntries` in order. They are committed on a quorum and durable here once
 *    step 2 is done.
 * 5. Serve `readStates` once the state machine has applied up to each one's index.
 */
export interface Ready {
  readonly softState: SoftState | null;
  /** Non-null when term, vote or commit index changed since the last persisted value. */
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  readonly forwarded: readonly ForwardedProposal[];
  /**
   * False when the only thing to persist is a new commit index (no entries, no snapshot, same
   * term and vote). The commit index is only ever a lower bound of the cluster's (a restarted
   * node relearns it from the leader), so such a Ready's messages may leave and its entries apply
   * without waiting for that write; it must still be written in order with later ones. This
   * keeps an fsync off the path from commit to apply (etcd-io/raft's MustSync).
   */
  readonly mustSync: boolean;
}

/**
 * How the leader replicates to one follower (etcd-io/raft's tracker states): `probe` sends one append at a
 * time until it finds where the logs match, `replicate` streams optimistically, `snapshot` waits for a
 * snapshot to be installed.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The leader's view of one peer (etcd-io/raft's tracker.Progress), as plain data. */
export interface PeerStatus {
  readonly id: NodeId;
  readonly matchIndex: Index;
  readonly nextIndex: Index;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  /** Heard from since the last CheckQuorum round. */
  readonly recentActive: boolean;
  readonly inflightMessages: number;
}

/**
 * A point-in-time view of the core for observers (status endpoints, tests); a copy, so holding it pins
 * nothing.
 */
export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly votedFor: NodeId | null;
  readonly leader: NodeId | null;
  readonly commitIndex: Index;
  readonly appliedIndex: Index;
  readonly firstIndex: Index;
  readonly lastIndex: Index;
  readonly membership: Membership;
  /** Filled on the leader only. */
  readonly peers: readonly PeerStatus[];
  readonly leadTransferee: NodeId | null;
}
