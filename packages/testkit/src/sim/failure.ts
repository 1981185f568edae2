/** What went wrong in a simulated run. Safety kinds are Raft's guarantees; liveness kinds are bounds. */
export type FailureKind =
  /** Two nodes led the same term (Raft §5.2, Election Safety). */
  | 'TwoLeaders'
  /** Two logs hold the same index and term but differ at or before it (§5.3, Log Matching). */
  | 'LogMismatch'
  /** A leader's log lacks an entry committed in an earlier term (§5.4, Leader Completeness). */
  | 'LeaderIncomplete'
  /** Two nodes applied different entries at one index (§5.4.3, State Machine Safety). */
  | 'StateMachineDivergence'
  /** A node applied an index twice, skipped one, or restored a snapshot behind what it applied. */
  | 'ApplyOrder'
  /** A snapshot's state is not the state of the log prefix it claims to capture. */
  | 'SnapshotMismatch'
  /** A node replaced an entry it had persisted as committed. */
  | 'CommittedTruncated'
  /**
   * A node sent a message of a term (other than a Pre-Vote's) before that term was durable on its
   * disk: a crash could let it act in that term again, e.g. vote for a rival in a term it led.
   */
  | 'UndurableTerm'
  /** A node persisted votes for two candidates in one term (Raft §5.2). */
  | 'DoubleVote'
  /**
   * A node became leader without the durable votes of a majority of its configuration (of both
   * majorities in a joint one, thesis §4.3).
   */
  | 'MinorityLeader'
  /** A read index below an entry applied before the read began (thesis §6.4). */
  | 'StaleRead'
  /** A stale read returned a value no node ever held for its key. */
  | 'PhantomRead'
  /** The clients' history of writes, cas and linearizable reads has no linearization. */
  | 'NotLinearizable'
  /** The linearizability checker ran out of time: the history is neither proven nor refuted. */
  | 'HistoryUnchecked'
  /** A leader accepted a proposal while handing leadership over (thesis §3.10). */
  | 'TransferProposal'
  /** A leadership transfer neither completed nor was abandoned within an election timeout. */
  | 'TransferStuck'
  /** The core threw, or asked for a write that breaks the storage contract. */
  | 'CoreError'
  /** No stable leader within the election bound after faults healed. */
  | 'NoLeader'
  /** A proposal to a stable leader did not commit within the commit bound. */
  | 'ProposalStuck';

/** Bounds missed and checks that could not conclude: failures, but not proof of unsafety. */
const notSafetyKinds: ReadonlySet<FailureKind> = new Set([
  'NoLeader',
  'ProposalStuck',
  'TransferStuck',
  'HistoryUnchecked',
]);

/** A broken property, with the seed that reproduces it and the last events before it. */
export class SimulationFailure extends Error {
  override readonly name = 'SimulationFailure';
  readonly kind: FailureKind;
  readonly seed: number;
  readonly time: number;
  trace: readonly string[] = [];

  constructor(kind: FailureKind, detail: string, where: { seed: number; time: number }, cause?: unknown) {
    super(
      `${kind} at t=${where.time} (seed ${where.seed}): ${detail}`,
      cause === undefined ? undefined : { cause },
    );
    this.kind = kind;
    this.seed = where.seed;
    this.time = where.time;
  }

  get safety(): boolean {
    return !notSafetyKinds.has(this.kind);
  }
}
