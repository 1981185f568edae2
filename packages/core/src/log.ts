import { applyConfigChange, decodeConfigChange } from './confchange.ts';
import type { Entry, Index, Membership, Snapshot, Term } from './types.ts';

/**
 * The node's log as the core sees it: the latest snapshot, followed by every entry after it, held
 * in memory (compaction keeps it bounded). Indexes the application has persisted, committed and
 * applied are tracked here because their order is what safety rests on.
 */
export class RaftLog {
  /** The latest snapshot; `entries` continue right after `snapshot.meta.index`. */
  snapshot: Snapshot;
  /** Invariant: contiguous, `entries[i].index === snapshot.meta.index + 1 + i`, terms never decrease. */
  private entries: Entry[];
  /** Highest index known to be committed. Invariant: `snapshotIndex <= commitIndex <= lastIndex`. */
  commitIndex: Index;
  /** Highest index handed to the application to apply. Invariant: `appliedIndex <= commitIndex`. */
  appliedIndex: Index;
  /**
   * Entries up to here are durable in the application's storage; the ones after it are still to
   * be persisted and go out in the next Ready. Invariant: `stableIndex <= lastIndex`.
   */
  stableIndex: Index;
  /** A snapshot from the leader that the application must persist and restore. */
  pendingSnapshot: Snapshot | null = null;
  /**
   * Every config entry after the snapshot with the membership it puts in force, ascending. A
   * configuration is in force as soon as it is in the log (thesis §4.1), so a truncated config
   * entry takes its membership with it.
   */
  private configs: { index: Index; membership: Membership }[] = [];

  constructor(snapshot: Snapshot, entries: readonly Entry[], commitIndex: Index, appliedIndex: Index) {
    this.snapshot = snapshot;
    this.entries = [...entries];
    this.trackConfigs(entries);
    this.stableIndex = this.lastIndex();
    this.commitIndex = commitIndex;
    this.appliedIndex = appliedIndex;
  }

  get snapshotIndex(): Index {
    return this.snapshot.meta.index;
  }

  firstIndex(): Index {
    return (this.snapshotIndex + 1) as Index;
  }

  lastIndex(): Index {
    return (this.snapshotIndex + this.entries.length) as Index;
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) as Term;
  }

  /** Term of entry `i`, or undefined when it is compacted or beyond the end. */
  term(i: Index): Term | undefined {
    if (i === this.snapshotIndex) return this.snapshot.meta.term;
    if (i < this.snapshotIndex || i > this.lastIndex()) return undefined;
    return (this.entries[i - this.snapshotIndex - 1] as Entry).term;
  }

  matchTerm(i: Index, t: Term): boolean {
    return this.term(i) === t;
  }

  entryAt(i: Index): Entry | undefined {
    return i > this.snapshotIndex ? this.entries[i - this.snapshotIndex - 1] : undefined;
  }

  /** Raft §5.4.1: is a log ending at (`lastIndex`, `lastTerm`) at least as up-to-date as ours? */
  isUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in `[low, high)`, stopping once `maxBytes` of payload is reached but always returning
   * at least one entry when the range is not empty. The caller keeps `low > snapshotIndex`.
   */
  slice(low: Index, high: Index, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    if (low <= this.snapshotIndex)
      throw new Error(`slice(${low}) reaches into the snapshot at ${this.snapshotIndex}`);
    const start = low - this.snapshotIndex - 1;
    const end = Math.min(high, this.lastIndex() + 1) - this.snapshotIndex - 1;
    if (maxBytes === Number.POSITIVE_INFINITY) return this.entries.slice(start, end);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = start; i < end; i++) {
      const entry = this.entries[i] as Entry;
      bytes += entry.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  /** The membership in force: the latest in the log, else the snapshot's. */
  membership(): Membership {
    return this.configs.at(-1)?.membership ?? this.snapshot.meta.membership;
  }

  /** The membership in force at index `i` (for describing a snapshot taken there). */
  membershipAt(i: Index): Membership {
    let found = this.snapshot.meta.membership;
    for (const config of this.configs) if (config.index <= i) found = config.membership;
    return found;
  }

  /** Index of the latest config entry in the log, or the snapshot index when there is none. */
  latestConfigIndex(): Index {
    return this.configs.at(-1)?.index ?? this.snapshotIndex;
  }

  private trackConfigs(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type !== 'config') continue;
      const membership = applyConfigChange(this.membership(), decodeConfigChange(entry.data));
      this.configs.push({ index: entry.index, membership });
    }
  }

  /** Appends entries the leader created (they never conflict with ours). */
  appendOwn(entries: readonly Entry[]): void {
    for (const entry of entries) this.entries.push(entry);
    this.trackConfigs(entries);
  }

  /**
   * Raft §5.3 receiver rules 3 and 4: skip entries we already have, truncate at the first
   * conflicting one, append the rest. Returns the index of the last entry the leader sent.
   * The caller has checked that our log matches at `entries[0].index - 1`.
   */
  appendFromLeader(entries: readonly Entry[]): void {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      const ours = this.term(entry.index);
      if (ours === entry.term) continue;
      if (ours !== undefined) {
        // A conflict below the commit index would mean the leader disagrees with a committed
        // entry: Leader Completeness is broken, which no input may cause.
        if (entry.index <= this.commitIndex) {
          throw new Error(`conflict at committed index ${entry.index} (commit ${this.commitIndex})`);
        }
        this.truncateFrom(entry.index);
      }
      const fresh = entries.slice(i);
      for (const e of fresh) this.entries.push(e);
      this.trackConfigs(fresh);
      return;
    }
  }

  private truncateFrom(i: Index): void {
    this.entries.length = i - this.snapshotIndex - 1;
    this.configs = this.configs.filter((c) => c.index < i);
    if (this.stableIndex >= i) this.stableIndex = (i - 1) as Index;
  }

  /**
   * The fast back-off hint (Raft §5.3): the largest index `<= i` whose term is `<= t`. Every entry
   * between that index and `i` has a term above `t`, so it cannot match a log whose entry at `i`
   * has term `t`, and the whole stretch can be skipped in one round trip.
   */
  findConflictByTerm(i: Index, t: Term): { index: Index; term: Term } {
    let at = Math.min(i, this.lastIndex()) as Index;
    for (;;) {
      const ourTerm = this.term(at);
      if (ourTerm === undefined || ourTerm <= t) return { index: at, term: ourTerm ?? (0 as Term) };
      at = (at - 1) as Index;
    }
  }

  commitTo(i: Index): boolean {
    if (i <= this.commitIndex) return false;
    if (i > this.lastIndex()) throw new Error(`commit ${i} is beyond the last index ${this.lastIndex()}`);
    this.commitIndex = i;
    return true;
  }

  /** Entries committed but not yet handed to the application, bounded by `maxBytes`. */
  nextCommitted(maxBytes: number): Entry[] {
    if (this.pendingSnapshot !== null || this.commitIndex <= this.appliedIndex) return [];
    return this.slice((this.appliedIndex + 1) as Index, (this.commitIndex + 1) as Index, maxBytes);
  }

  /** Entries not yet persisted. */
  unstableEntries(): Entry[] {
    return this.stableIndex >= this.lastIndex()
      ? []
      : this.slice((this.stableIndex + 1) as Index, (this.lastIndex() + 1) as Index);
  }

  /** The application persisted everything up to (`index`, `term`). Ignored if since truncated. */
  stableTo(index: Index, term: Term): void {
    if (index > this.stableIndex && this.matchTerm(index, term)) this.stableIndex = index;
  }

  appliedTo(index: Index): void {
    if (index > this.commitIndex) throw new Error(`applied ${index} is beyond commit ${this.commitIndex}`);
    if (index > this.appliedIndex) this.appliedIndex = index;
  }

  /**
   * Replaces the whole log with a snapshot from the leader (Raft §7, receiver rules 6 and 7, in
   * the simple form: the caller has checked our log does not already contain its last entry).
   */
  restore(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.entries = [];
    this.configs = [];
    this.commitIndex = snapshot.meta.index;
    this.stableIndex = snapshot.meta.index;
    this.pendingSnapshot = snapshot;
  }

  /**
   * The application persisted and restored the snapshot at `index` that a Ready handed out. A
   * newer one may have arrived from the leader meanwhile (etcd-io/raft's stableSnapTo checks the
   * same): it stays pending, since the application has not seen it yet.
   */
  snapshotApplied(index: Index): void {
    if (index > this.appliedIndex) this.appliedIndex = index;
    if (this.pendingSnapshot !== null && this.pendingSnapshot.meta.index === index)
      this.pendingSnapshot = null;
  }

  /** Drops entries up to a snapshot the application took of its own applied state. */
  compact(snapshot: Snapshot): void {
    const drop = snapshot.meta.index - this.snapshotIndex;
    if (drop <= 0) return;
    this.entries = this.entries.slice(drop);
    this.configs = this.configs.filter((c) => c.index > snapshot.meta.index);
    this.snapshot = snapshot;
  }

  assertInvariants(): void {
    const fail = (what: string) => {
      throw new Error(`log invariant broken: ${what}`);
    };
    let previousTerm = this.snapshot.meta.term;
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      if (entry.index !== this.snapshotIndex + 1 + i) fail(`entry ${i} has index ${entry.index}`);
      if (entry.term < previousTerm) fail(`term decreases at ${entry.index}`);
      previousTerm = entry.term;
    }
    if (this.commitIndex > this.lastIndex()) fail(`commit ${this.commitIndex} > last ${this.lastIndex()}`);
    if (this.commitIndex < this.snapshotIndex)
      fail(`commit ${this.commitIndex} < snapshot ${this.snapshotIndex}`);
    if (this.appliedIndex > this.commitIndex)
      fail(`applied ${this.appliedIndex} > commit ${this.commitIndex}`);
    if (this.stableIndex > this.lastIndex()) fail(`stable ${this.stableIndex} > last ${this.lastIndex()}`);
  }
}
