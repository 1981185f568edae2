import type { Entry, Index, Term } from '@raftkit/core';
import { RaftNodeError } from './errors.ts';

/** A proposal's outcome: the log index it committed at and what the state machine's `apply` returned. */
export interface Applied {
  readonly index: number;
  readonly result: unknown;
}

interface Pending {
  readonly term: Term;
  readonly deadline: number;
  readonly resolve: (applied: Applied) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Proposals waiting for their entry to apply, keyed by the index `propose()` returned together
 * with the term it was proposed in: whatever ends up applied at that index settles the promise,
 * and only the entry of that term may resolve it. Anything else at that index means our entry
 * was overwritten by another leader and will never apply (Leader Completeness: had it committed,
 * the new leader would hold it).
 */
export class PendingProposals {
  /** Insertion order is deadline order (every proposal gets the same timeout), so expiry stops early. */
  readonly #byIndex = new Map<Index, Pending>();

  constructor(
    private readonly limit: number,
    private readonly onFailed: () => void,
  ) {}

  get size(): number {
    return this.#byIndex.size;
  }

  hasRoom(extra = 0): boolean {
    return this.#byIndex.size + extra < this.limit;
  }

  /** Tracks the entry just proposed at (`index`, `term`). */
  add(index: Index, term: Term, deadline: number): Promise<Applied> {
    // A proposal still waiting at this index is from an earlier term: we lead again and put a new
    // entry there, so that old one was overwritten. (Checked first: an error's stack trace is
    // costly, and on the write path there is almost never one to fail.)
    if (this.#byIndex.has(index)) this.#fail(index, dropped(index));
    return new Promise((resolve, reject) => {
      this.#byIndex.set(index, { term, deadline, resolve, reject });
    });
  }

  /** An entry reached our log; one of another term at a pending index means ours was overwritten. */
  appended(entry: Entry): void {
    const pending = this.#byIndex.get(entry.index);
    if (pending !== undefined && pending.term !== entry.term) this.#fail(entry.index, dropped(entry.index));
  }

  /** The entry at `entry.index` was applied with `result`. */
  applied(entry: Entry, result: unknown): void {
    const pending = this.#byIndex.get(entry.index);
    if (pending === undefined) return;
    this.#byIndex.delete(entry.index);
    if (pending.term === entry.term) pending.resolve({ index: entry.index, result });
    else {
      this.onFailed();
      pending.reject(dropped(entry.index));
    }
  }

  /**
   * A snapshot from the leader replaced the log up to `index`: whether our entries there made it
   * is unknown (the snapshot does not say which entries it holds), so they fail as timed out.
   */
  coveredBySnapshot(index: Index): void {
    for (const at of this.#byIndex.keys()) {
      if (at <= index) {
        this.#fail(at, new RaftNodeError('Timeout', `a snapshot replaced the log at ${at}; outcome unknown`));
      }
    }
  }

  /** Fails every proposal whose deadline passed. */
  expire(now: number): void {
    for (const [index, pending] of this.#byIndex) {
      if (pending.deadline > now) break;
      this.#fail(
        index,
        new RaftNodeError('Timeout', `entry ${index} did not apply in time; it may still apply`),
      );
    }
  }

  rejectAll(error: unknown): void {
    for (const index of [...this.#byIndex.keys()]) this.#fail(index, error);
  }

  #fail(index: Index, error: unknown): void {
    const pending = this.#byIndex.get(index);
    if (pending === undefined) return;
    this.#byIndex.delete(index);
    this.onFailed();
    pending.reject(error);
  }
}

const dropped = (index: Index) =>
  new RaftNodeError(
    'Dropped',
    `the entry at ${index} was overwritten by another leader's; it will not apply`,
  );
