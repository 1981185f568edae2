import type { Entry, NodeId, SnapshotMeta, Term } from '@raftkit/core';
import type { Digest } from './digest.ts';
import { bytesEqual, extendDigest } from './digest.ts';
import type { MemoryDisk } from './disk.ts';
import type { FailureKind } from './failure.ts';

/** An entry the cluster committed: the first node to apply index i fixed what index i holds. */
interface CommittedEntry {
  readonly term: Term;
  readonly data: Uint8Array;
  readonly type: Entry['type'];
  /** Digest of the applied prefix through this index. */
  readonly digest: Digest;
  /**
   * An upper bound of the term in which the entry was committed: the term of the node that first
   * applied it. That node learned the commit from a leader of that term or earlier, so every
   * leader of a later term must hold the entry (Leader Completeness).
   */
  readonly committedBy: number;
}

/** Where one node is in applying the log; reset at each restart (the state machine is volatile). */
export interface ApplyCursor {
  index: number;
  digest: Digest;
}

/** A node's log as the checker may read it: its persisted or its in-memory copy. */
type LogView = Pick<MemoryDisk, 'termAt' | 'entryAt' | 'snapshotIndex' | 'lastIndex' | 'hardState'>;

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
  /** `#committed[i]` for every index anyone applied; index 0 is the empty prefix. */
  readonly #committed: (CommittedEntry | undefined)[] = [];
  /** The highest committed index per `committedBy` term, for Leader Completeness. */
  readonly #highestByTerm = new Map<number, number>();
  /** The snapshot bytes first taken at each index: every node must take the same. */
  readonly #snapshotData = new Map<number, Uint8Array>();

  constructor(fail: Fail) {
    this.#fail = fail;
  }

  /** The highest index any node has applied so far: every read begun now must see it. */
  get highestApplied(): number {
    return this.#committed.length - 1;
  }

  /** Election Safety: at most one leader per term, over the whole run. */
  observeLeader(node: NodeId, term: number): void {
    const other = this.#leaders.get(term);
    if (other === undefined) this.#leaders.set(term, node);
    else if (other !== node) this.#fail('TwoLeaders', `${other} and ${node} both lead term ${term}`);
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

  /** State Machine Safety: `node`, whose current term is `term`, applies `entry` next. */
  observeApply(node: NodeId, cursor: ApplyCursor, entry: Entry, term: number): void {
    if (entry.index !== cursor.index + 1) {
      this.#fail('ApplyOrder', `${node} applied ${entry.index} after ${cursor.index}`);
    }
    const digest = extendDigest(cursor.digest, entry);
    const committed = this.#committed[entry.index];
    if (committed === undefined) {
      this.#committed[entry.index] = {
        term: entry.term,
        data: entry.data,
        type: entry.type,
        digest,
        committedBy: term,
      };
      this.#highestByTerm.set(term, Math.max(this.#highestByTerm.get(term) ?? 0, entry.index));
    } else if (committed.term !== entry.term || !bytesEqual(committed.data, entry.data)) {
      this.#fail(
        'StateMachineDivergence',
        `${node} applied ${entry.index}/${entry.term}, another node applied ${entry.index}/${committed.term} there`,
      );
    } else if (committed.digest !== digest) {
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
    const committed = this.#committed[meta.index];
    if (meta.index > 0 && committed === undefined) {
      this.#fail('SnapshotMismatch', `${node} restored a snapshot at ${meta.index}, which nobody applied`);
    }
    if (committed !== undefined && (committed.digest !== digest || committed.term !== meta.term)) {
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
    if (held !== committed.term) {
      this.#fail(
        'LeaderIncomplete',
        `${node} leads term ${term} with ${held === undefined ? `no entry at ${highest}` : `${highest}/${held}`}; ${highest}/${committed.term} was committed by term ${committed.committedBy}`,
      );
    }
  }

  /** A read begun when `floor` was the highest applied index got read index `readIndex`. */
  observeReadIndex(node: NodeId, requestId: number, floor: number, readIndex: number): void {
    if (readIndex < floor) {
      this.#fail(
        'StaleRead',
        `${node} answered read ${requestId} at index ${readIndex}; ${floor} was applied before it began`,
      );
    }
  }
}
