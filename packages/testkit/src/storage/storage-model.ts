import type { Entry, HardState, Snapshot, SnapshotMeta, StorageWrite } from '@raftkit/core';
import { index, term } from '@raftkit/core';

/**
 * The `Storage` contract's effect on durable state, as pure functions over plain arrays: the
 * reference the conformance suite's property test holds every backend to, and the heart of
 * `MemoryStorage`. No validation here: callers check the contract's preconditions first.
 */
export interface ModelState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
}

export const emptyModel: ModelState = {
  hardState: { term: term(0), votedFor: null, commitIndex: index(0) },
  snapshot: null,
  entries: [],
};

export const snapshotIndex = (state: ModelState): number => state.snapshot?.meta.index ?? 0;
export const lastIndex = (state: ModelState): number => state.entries.at(-1)?.index ?? snapshotIndex(state);

/** Term at `i`, for `snapshotIndex <= i <= lastIndex`; undefined elsewhere. */
export function termAt(state: ModelState, i: number): number | undefined {
  const base = snapshotIndex(state);
  if (i === base) return state.snapshot?.meta.term ?? 0;
  return state.entries[i - base - 1]?.term;
}

export function applyWrite(state: ModelState, write: StorageWrite): ModelState {
  const base = snapshotIndex(state);
  const incoming = (write.entries ?? []).filter((e) => e.index > base);
  const first = incoming[0]?.index;
  const entries =
    first === undefined ? state.entries : [...state.entries.slice(0, first - base - 1), ...incoming];
  return { hardState: write.hardState ?? state.hardState, snapshot: state.snapshot, entries };
}

/** Keeps the entries after the snapshot when the log agrees with it at its index, else none. */
export function applySnapshot(state: ModelState, snapshot: Snapshot): ModelState {
  const { index: i, term: t } = snapshot.meta;
  const agrees = termAt(state, i) === t && i <= lastIndex(state);
  const base = snapshotIndex(state);
  return {
    hardState: state.hardState,
    snapshot,
    entries: agrees ? state.entries.slice(i - base) : [],
  };
}

export const copyMeta = (meta: SnapshotMeta): SnapshotMeta => ({
  index: meta.index,
  term: meta.term,
  membership: {
    voters: [...meta.membership.voters],
    votersOutgoing: [...meta.membership.votersOutgoing],
    learners: [...meta.membership.learners],
  },
});
