import type { Index, Term } from '@raftkit/core';

/**
 * The rules a stored log must satisfy, checked on every open and by the offline check. SQLite
 * protects pages; these protect the Raft meaning of the rows (a bug or a hand edit can break them
 * while every page is intact).
 */
export type ConsistencyRule =
  /** Two entries with the same index, or indexes going backwards. */
  | 'duplicate'
  /** An index missing between two entries. */
  | 'gap'
  /** A later entry with a lower term (terms in a Raft log never decrease, §5.3). */
  | 'term-decrease'
  /** The first entry does not follow the snapshot, or its term is below the snapshot's. */
  | 'snapshot-boundary'
  /** The persisted commit index points past the last index. */
  | 'commit-beyond-last';

export interface ConsistencyProblem {
  readonly rule: ConsistencyRule;
  readonly message: string;
}

export interface LogPosition {
  readonly index: Index;
  readonly term: Term;
}

/**
 * Walks the log once, in index order, collecting problems. Reports at most `limit` so a badly
 * damaged log does not produce a million lines.
 */
export function checkLog(
  snapshot: LogPosition | null,
  commitIndex: Index,
  entries: Iterable<LogPosition>,
  limit = 20,
): { problems: ConsistencyProblem[]; lastIndex: Index } {
  const problems: ConsistencyProblem[] = [];
  const report = (rule: ConsistencyRule, message: string) => {
    if (problems.length < limit) problems.push({ rule, message });
  };
  let previous: LogPosition | null = null;
  for (const entry of entries) {
    if (previous === null) {
      const expected = (snapshot?.index ?? 0) + 1;
      if (entry.index !== expected) {
        report('snapshot-boundary', `first entry has index ${entry.index}, expected ${expected}`);
      }
      if (snapshot !== null && entry.term < snapshot.term) {
        report(
          'snapshot-boundary',
          `entry ${entry.index} has term ${entry.term} below the snapshot's ${snapshot.term}`,
        );
      }
    } else if (entry.index <= previous.index) {
      report('duplicate', `entry ${entry.index} follows entry ${previous.index}`);
    } else if (entry.index !== previous.index + 1) {
      report('gap', `entries ${previous.index + 1}..${entry.index - 1} are missing`);
    }
    if (previous !== null && entry.term < previous.term) {
      report('term-decrease', `entry ${entry.index} has term ${entry.term} after term ${previous.term}`);
    }
    previous = entry;
  }
  const lastIndex = (previous?.index ?? snapshot?.index ?? 0) as Index;
  if (commitIndex > lastIndex) {
    report('commit-beyond-last', `commit index ${commitIndex} is past the last index ${lastIndex}`);
  }
  return { problems, lastIndex };
}
