import type { HistoryEvent } from './history.ts';
import { searchLinearization } from './search.ts';

/**
 * A sequential specification: the object's behaviour when operations happen one at a time.
 * The checker asks whether the concurrent history can be ordered so that this model accepts it.
 */
export interface Model<State, Op, Result> {
  /** The object's state before any operation. */
  init(): State;
  /**
   * Applies `op` to `state` and says whether the object could have answered `result`. For an event
   * whose outcome is unknown (`respondedAt === null`) any result is acceptable: return `true` and
   * the state the operation would produce. Must not mutate `state`: the search backtracks to it.
   */
  step(state: State, op: Op, result: Result): readonly [ok: boolean, next: State];
  /**
   * A canonical encoding of `state`: equal strings must mean equal states, since the search
   * prunes a branch whose (linearized set, state) pair it has already explored.
   */
  hashState(state: State): string;
  /**
   * True when `op` answering `result` never changes the state, whatever the state (a read, a
   * failed compare-and-set). Optional; lets the search place such operations without branching.
   */
  readOnly?(op: Op, result: Result): boolean;
  /**
   * Splits the history into independent parts checked separately (P-compositionality, e.g. one
   * part per key of a key-value store): far cheaper than one search over the whole history.
   */
  partition?(history: readonly HistoryEvent<Op, Result>[]): readonly (readonly HistoryEvent<Op, Result>[])[];
}

/** Options of a model check. */
export interface CheckOptions {
  /** Wall-clock budget for the whole check; past it the answer is `'unknown'`. Default 10 s. */
  readonly timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Whether some order of the history, consistent with real time, is one the model accepts; when not, where
 * the search got stuck.
 */
export type ModelCheckResult<Op, Result> =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Index of the failing part in `model.partition(history)` (0 without a partition). */
      readonly partition: number;
      /** The longest order of operations the model accepted before every continuation failed. */
      readonly longestPrefix: readonly HistoryEvent<Op, Result>[];
      /** Completed operations that could have come next in real time, none of which the model accepted. */
      readonly stuck: readonly HistoryEvent<Op, Result>[];
    }
  | { readonly ok: 'unknown'; readonly reason: 'timeout' };

/** Checks that `history` is linearizable with respect to `model`. */
export function checkModel<State, Op, Result>(
  model: Model<State, Op, Result>,
  history: readonly HistoryEvent<Op, Result>[],
  options: CheckOptions = {},
): ModelCheckResult<Op, Result> {
  const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const parts = model.partition?.(history) ?? [history];
  for (const [partition, events] of parts.entries()) {
    const outcome = searchLinearization(model, events, { deadline });
    if (outcome.kind === 'timeout') return { ok: 'unknown', reason: 'timeout' };
    if (outcome.kind === 'violation') {
      return { ok: false, partition, longestPrefix: outcome.longestPrefix, stuck: outcome.stuck };
    }
  }
  return { ok: true };
}
