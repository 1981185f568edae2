import type { Entry, HardState, Membership, Message, NodeId, SnapshotMeta, Term } from '@raftkit/core';
import type { Digest } from './digest.ts';
import { bytesEqual, extendDigest } from './digest.ts';
import type { MemoryDisk } from './disk.ts';
import type { FailureKind } from './failure.ts';

/**
 * An entry the cluster committed: the first node to claim index i committed (by raising its
 * commit index past it, or by applying it) fixed what index i holds.
 */
interface CommittedEntry {
  readonly entry: Entry;
  /**
   * An upper bound of the term in which the entry was committed: the lowest term of a node
   * claiming it. A node learns a commit from a leader of its term or an earlier one, so every
   * leader of a later term must hold the entry (Leader Completeness).
   */
  committedBy: number;
}

/** Where one node is in applying the log; reset at each restart (the state machine is volatile). */
export interface ApplyCursor {
  index: number;
  digest: Digest;
}

/** A node's log as the checker may read it: its persisted or its in-memory copy. */
/** What the checker reads of a node's log. */
export type LogView = Pick<MemoryDisk, 'termAt' | 'entryAt' | 'snapshotIndex' | 'lastIndex' | 'hardState'>;

/** Reports a broken property and ends the step: the simulation stops with this failure and its seed. */
export type Fail = (kind: FailureKind, detail: string) => never;

/**
 * Raft's safety properties (Raft §5.4, Figure 3), checked incrementally as the simulation
 * reports what nodes persist, apply and become. Every check is sound: it only fails on a
 * state that a correct Raft cannot reach.
 */
export class SafetyChecker {
  readonly #fail: Fail;
  readonly #leaders = new Map<number, NodeId>();
  /**
   * Log Matching by induction: an (index, term) pair, wherever persisted, always comes with the
   * same entry and the same term before it. That implies the whole prefixes are equal, while each
   * write only costs a lookup per new entry.
   */
  readonly #entries = new Map<string, { readonly entry: Entry; readonly previousTerm: Term | undefined }>();
  /** `#committed[i]` for every index anyone claimed committed (holes where only snapshots told). */
  readonly #committed: (CommittedEntry | undefined)[] = [];
  /** `#digests[i]`: digest of the applied prefix through i, for every index anyone applied. */
  readonly #digests: (Digest | undefined)[] = [];
  /** The highest committed index per `committedBy` term, for Leader Completeness. */
  readonly #highestByTerm = new Map<number, number>();
  /** The snapshot bytes first taken at each index: every node must take the same. */
  readonly #snapshotData = new Map<number, Uint8Array>();
  /** `#votes.get(term).get(node)`: whom `node` durably voted for in `term`. */
  readonly #votes = new Map<number, Map<NodeId, NodeId>>();

  constructor(fail: Fail) {
    this.#fail = fail;
  }

  /**
   * The highest index any node has claimed committed so far. A read begun now must see it: the
   * leader serving the read holds every committed entry and fixes its read index only after it
   * committed an entry of its own term (thesis §6.4), so the read index is at least this.
   */
  get highestCommitted(): number {
    return Math.max(0, this.#committed.length - 1);
  }

  /**
   * `node` sends `message` while `durableTerm` is the term on its disk. Pre-Vote speaks of a term
   * not yet entered, so it is exempt; any other message of a term the node could still forget in
   * a crash lets it act twice in that term (lead it, restart at the old term, vote for a rival).
   */
  observeSend(node: NodeId, message: Message, durableTerm: number): void {
    const preVote =
      (message.type === 'RequestVote' || message.type === 'RequestVoteResponse') && message.preVote;
    if (!preVote && message.term > durableTerm) {
      this.#fail(
        'UndurableTerm',
        `${node} sent ${message.type} of term ${message.term} to ${message.to} with term ${durableTerm} on its disk`,
      );
    }
  }

  /**
   * Election Safety: at most one leader per term, over the whole run. Called once the leader's
   * term and vote are durable: before that it can send nothing of the term (`observeSend`), and
   * a crash erases a leadership nobody saw.
   */
  observeLeader(node: NodeId, term: number): void {
    const other = this.#leaders.get(term);
    if (other === undefined) this.#leaders.set(term, node);
    else if (other !== node) this.#fail('TwoLeaders', `${other} and ${node} both lead term ${term}`);
  }

  /** The node that led `term`, if any was seen. */
  leaderOf(term: number): NodeId | undefined {
    return this.#leaders.get(term);
  }

  /**
   * `node` made `hardState` durable. A vote is promised only once durable (its answer leaves
   * after the write), so a durable vote is the one that counted: it may never change in a term.
   */
  observeHardState(node: NodeId, hardState: HardState): void {
    if (hardState.votedFor !== null) this.#recordVote(node, hardState.term, hardState.votedFor);
  }

  /**
   * `node` sent a granted vote for `candidate` in `term` after its Ready was durable. Usually that
   * write holds the vote; but a newer term may have arrived before the write and superseded it
   * (the node voted, then heard of a later term, and persisted only that). Then no record of the
   * vote is on disk, yet the node can never vote in `term` again, so the vote is as good as
   * durable and counts toward the election it helped win.
   */
  observeVoteSent(node: NodeId, term: number, candidate: NodeId, durableTerm: number): void {
    if (durableTerm > term) this.#recordVote(node, term, candidate);
  }

  #recordVote(node: NodeId, term: number, candidate: NodeId): void {
    let votes = this.#votes.get(term);
    if (votes === undefined) {
      votes = new Map();
      this.#votes.set(term, votes);
    }
    const earlier = votes.get(node);
    if (earlier === undefined) votes.set(node, candidate);
    else if (earlier !== candidate) {
      this.#fail('DoubleVote', `${node} voted for ${earlier} and then ${candidate} in term ${term}`);
    }
  }

  /**
   * `node` just became leader of `term` under `membership`, the configuration its log holds
   * (in force as soon as it is in the log, thesis §4.1). The durable votes for it must make a
   * majority of `voters` and, while joint, of `votersOutgoing` too: then any two leaders'
   * electorates overlap, whatever configurations are in flight, which is what keeps two disjoint
   * majorities from deciding. The leader need not be a voter itself: one whose removal is not
   * committed yet may still win, without its own vote, to commit it (thesis §4.2.2).
   */
  observeElected(node: NodeId, term: number, membership: Membership): void {
    const { voters, votersOutgoing } = membership;
    const votes = this.#votes.get(term);
    // Its own vote, if it is a voter, may still be on its way to disk (a sole voter wins
    // before persisting).
    const votedFor = (id: NodeId) => id === node || votes?.get(id) === node;
    for (const group of votersOutgoing.length > 0 ? [voters, votersOutgoing] : [voters]) {
      const granted = group.filter(votedFor);
      if (2 * granted.length <= group.length) {
        this.#fail(
          'MinorityLeader',
          `${node} leads term ${term} with durable votes from {${granted.join(',')}} only, of voters {${group.join(',')}} (${describeMembership(membership)})`,
        );
      }
    }
  }

  /**
   * Called before `node` persists `entries` on `disk`: an entry at or below the commit index the
   * node made durable was committed, and a committed entry is never replaced.
   */
  checkOverwrite(node: NodeId, disk: LogView, entries: readonly Entry[]): void {
    const commitIndex = disk.hardState.commitIndex;
    for (const entry of entries) {
      if (entry.index > commitIndex) return;
      const stored = disk.termAt(entry.index);
      if (stored !== undefined && stored !== entry.term && entry.index > disk.snapshotIndex) {
        this.#fail(
          'CommittedTruncated',
          `${node} replaced ${entry.index}/${stored} with ${entry.index}/${entry.term}, at or below its persisted commit ${commitIndex}`,
        );
      }
    }
  }

  /** `node` persisted `entries` (the disk holds them now): Log Matching against every log ever persisted. */
  observePersist(node: NodeId, disk: LogView, entries: readonly Entry[]): void {
    for (const entry of entries) {
      const previousTerm = disk.termAt(entry.index - 1);
      const key = `${entry.index}/${entry.term}`;
      const seen = this.#entries.get(key);
      if (seen === undefined) {
        this.#entries.set(key, { entry, previousTerm });
        continue;
      }
      if (seen.entry.type !== entry.type || !bytesEqual(seen.entry.data, entry.data)) {
        this.#fail('LogMismatch', `${node} persisted ${key} with other contents than another log`);
      }
      if (
        seen.previousTerm !== undefined &&
        previousTerm !== undefined &&
        seen.previousTerm !== previousTerm
      ) {
        this.#fail(
          'LogMismatch',
          `${node} persisted ${key} after term ${previousTerm} at ${entry.index - 1}; another log has term ${seen.previousTerm} there`,
        );
      }
    }
  }

  /**
   * `node`, whose current term is `term`, claims `entry` committed: it raised its commit index
   * past it. Every claim at one index must name the same entry (State Machine Safety, checked
   * before anyone applies it, so a node that crashes before applying still counts).
   */
  observeCommitted(node: NodeId, entry: Entry, term: number): void {
    const known = this.#committed[entry.index];
    if (known === undefined) {
      this.#committed[entry.index] = { entry, committedBy: term };
    } else if (known.entry.term !== entry.term || !bytesEqual(known.entry.data, entry.data)) {
      this.#fail(
        'StateMachineDivergence',
        `${node} committed ${entry.index}/${entry.term}, ${entry.index}/${known.entry.term} was committed there before`,
      );
    } else if (term < known.committedBy) {
      known.committedBy = term;
    } else {
      return;
    }
    this.#highestByTerm.set(term, Math.max(this.#highestByTerm.get(term) ?? 0, entry.index));
  }

  /** State Machine Safety: `node`, whose current term is `term`, applies `entry` next. */
  observeApply(node: NodeId, cursor: ApplyCursor, entry: Entry, term: number): void {
    if (entry.index !== cursor.index + 1) {
      this.#fail('ApplyOrder', `${node} applied ${entry.index} after ${cursor.index}`);
    }
    this.observeCommitted(node, entry, term);
    const digest = extendDigest(cursor.digest, entry);
    const known = this.#digests[entry.index];
    if (known === undefined) this.#digests[entry.index] = digest;
    else if (known !== digest) {
      this.#fail('StateMachineDivergence', `${node} applied a different prefix before ${entry.index}`);
    }
    cursor.index = entry.index;
    cursor.digest = digest;
  }

  /** A node replaced its state machine with a snapshot of the prefix with digest `digest`. */
  observeRestore(node: NodeId, cursor: ApplyCursor, meta: SnapshotMeta, digest: Digest): void {
    if (meta.index < cursor.index) {
      this.#fail('ApplyOrder', `${node} restored a snapshot at ${meta.index} after applying ${cursor.index}`);
    }
    const applied = this.#digests[meta.index];
    if (meta.index > 0 && applied === undefined) {
      this.#fail('SnapshotMismatch', `${node} restored a snapshot at ${meta.index}, which nobody applied`);
    }
    if (
      applied !== undefined &&
      (applied !== digest || this.#committed[meta.index]?.entry.term !== meta.term)
    ) {
      this.#fail(
        'SnapshotMismatch',
        `${node} restored a snapshot at ${meta.index} of another prefix than was applied`,
      );
    }
    cursor.index = meta.index;
    cursor.digest = digest;
  }

  /** A node took a snapshot of its state machine at `index`: equal prefixes give equal bytes. */
  observeSnapshotTaken(node: NodeId, index: number, data: Uint8Array): void {
    const first = this.#snapshotData.get(index);
    if (first === undefined) this.#snapshotData.set(index, data);
    else if (!bytesEqual(first, data)) {
      this.#fail('SnapshotMismatch', `${node}'s state at ${index} differs from another node's at ${index}`);
    }
  }

  /**
   * Leader Completeness: the log of a leader of `term` holds every entry committed in an
   * earlier term. By Log Matching it is enough to find the highest such entry in the log.
   */
  observeLeaderLog(node: NodeId, term: number, log: LogView): void {
    let highest = 0;
    for (const [committedBy, index] of this.#highestByTerm) {
      if (committedBy < term && index > highest) highest = index;
    }
    if (highest === 0 || highest <= log.snapshotIndex) return;
    const committed = this.#committed[highest]!;
    const held = log.termAt(highest);
    if (held !== committed.entry.term) {
      this.#fail(
        'LeaderIncomplete',
        `${node} leads term ${term} with ${held === undefined ? `no entry at ${highest}` : `${highest}/${held}`}; ${highest}/${committed.entry.term} was committed by term ${committed.committedBy}`,
      );
    }
  }

  /** A read begun when `floor` was the highest applied index got read index `readIndex`. */
  observeReadIndex(node: NodeId, requestId: number, floor: number, readIndex: number): void {
    if (readIndex < floor) {
      this.#fail(
        'StaleRead',
        `${node} answered read ${requestId} at index ${readIndex}; ${floor} was committed before it began`,
      );
    }
  }
}

function describeMembership(m: Membership): string {
  const outgoing = m.votersOutgoing.length > 0 ? ` joint with {${m.votersOutgoing.join(',')}}` : '';
  return `voters {${m.voters.join(',')}}${outgoing} learners {${m.learners.join(',')}}`;
}
