/**
 * The plain data the core consumes and produces. Everything here is structurally cloneable and
 * codec-agnostic: payloads are `Uint8Array` views, ids are strings, terms and indexes are numbers
 * branded so that one cannot be passed where the other is expected.
 */

declare const termBrand: unique symbol;
declare const indexBrand: unique symbol;
declare const nodeIdBrand: unique symbol;

/** A Raft term (Raft §5.1). Monotonic per node; 0 means "before any election". */
export type Term = number & { readonly [termBrand]: true };
/** A log index (Raft §5.3). The first entry has index 1; 0 means "no entry". */
export type Index = number & { readonly [indexBrand]: true };
/** A node's identity inside one Raft group. Stable for the node's lifetime. */
export type NodeId = string & { readonly [nodeIdBrand]: true };

/**
 * Brands a number as a `Term`. No check: for values already known to be non-negative integers (the parse
 * functions check what comes from outside).
 */
export const term = (n: number): Term => n as Term;
/** Brands a number as a log `Index`. No check, as for `term`. */
export const index = (n: number): Index => n as Index;
/** Brands a string as a `NodeId`. No check, as for `term`. */
export const nodeId = (s: string): NodeId => s as NodeId;

/**
 * The cluster membership in force. Outside a joint configuration `votersOutgoing` is empty and a
 * quorum is a majority of `voters`. During joint consensus (Raft thesis §4.3) a decision needs a
 * majority of `voters` (C_new) and a majority of `votersOutgoing` (C_old) separately.
 */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  /** Non-voting members: they receive the log but never count toward a quorum. */
  readonly learners: readonly NodeId[];
}

/**
 * `normal` entries carry the application's commands, `config` entries a membership change (Raft thesis §4).
 */
export type EntryType = 'normal' | 'config';

/**
 * One log entry. `data` is the application's command for `normal` entries (empty for the no-op a
 * new leader appends, Raft §8) and an encoded {@link ConfigChange} for `config` entries.
 */
export interface Entry {
  readonly index: Index;
  readonly term: Term;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log (Raft Figure 2, "persistent state"). */
export interface HardState {
  readonly term: Term;
  readonly votedFor: NodeId | null;
  /**
   * Persisted so a restarted node can re-apply up to here without waiting for a leader. Safe to
   * persist lazily: it is only ever a lower bound of the cluster's true commit index.
   */
  readonly commitIndex: Index;
}

/** Describes the state a snapshot captures: everything up to and including `index`. */
export interface SnapshotMeta {
  readonly index: Index;
  readonly term: Term;
  /** The membership in force at `index`, so a node restored from the snapshot knows its peers. */
  readonly membership: Membership;
}

/** The state machine as of `meta.index`, replacing every log entry up to it (Raft §7). */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The application's serialized state machine. Opaque to the core. */
  readonly data: Uint8Array;
}

/**
 * A membership change, carried in a `config` entry. Adding a voter that is a learner promotes it.
 * Changes of more than one voter go through joint consensus on their own (see confchange.ts).
 */
export interface ConfigChange {
  readonly changes: readonly MemberChange[];
  /** Opaque to the core: the application's metadata for the change, e.g. new members' addresses. */
  readonly context?: Uint8Array;
}

/**
 * One step of a `ConfigChange`. Several in one change are applied through joint consensus (thesis §4.3);
 * one alone takes effect directly.
 */
export type MemberChange =
  | { readonly kind: 'addVoter'; readonly id: NodeId }
  | { readonly kind: 'addLearner'; readonly id: NodeId }
  | { readonly kind: 'remove'; readonly id: NodeId };
