import {
  type KvEvent,
  pruneUnobservable,
  registerModel,
  renderKvEvent,
  validateKvEvent,
} from './kv-model.ts';
import { findImpossibleObservation } from './kv-refute.ts';
import { shrinkWitness } from './kv-witness.ts';
import { type CheckOptions, DEFAULT_TIMEOUT_MS } from './model.ts';
import { searchLinearization } from './search.ts';

/** Options of the key-value linearizability check. */
export interface KvCheckOptions extends CheckOptions {
  /** Keys present before the history starts; every other key starts absent. */
  readonly initial?: ReadonlyMap<string, string>;
}

/**
 * Whether a key-value history is linearizable; when not, for which key, with a readable account and a small
 * witness, or `unknown` when the time budget ran out first.
 */
export type LinearizabilityResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** The first key (in sorted order) whose history is not linearizable. */
      readonly key: string;
      /** A readable account: the witness, the end of the longest linearizable prefix, the stuck operations. */
      readonly reason: string;
      /** A small sub-history of `key` that is itself not linearizable (see `shrinkWitness`). */
      readonly witness: readonly KvEvent[];
      /**
       * The longest order of this key's operations the store's semantics accept. Empty when the
       * search ran out of time and the violation was found directly (see `kv-refute.ts`).
       */
      readonly longestPrefix: readonly KvEvent[];
      /**
       * Completed operations that real time allowed next after that prefix, none of which fits;
       * or the one operation found to observe an impossible value.
       */
      readonly stuck: readonly KvEvent[];
    }
  /** Out of time, on a key the search could neither linearize nor refute. */
  | { readonly ok: 'unknown'; readonly reason: 'timeout' };

/**
 * Each attempt to drop operations from the witness may search this many times as long as the
 * check that found the violation. Some sub-histories take far longer to refute than the whole
 * (drop the reads and countless orders of the writes remain); such attempts are cut short and
 * count as failed, so shrinking costs a bounded multiple of the check, and, being counted in
 * steps rather than time, gives the same witness on every machine.
 */
const SHRINK_STEPS_FACTOR = 4;

/** How many operations of the longest prefix the reason shows: the end is where it went wrong. */
const PREFIX_TAIL = 8;

/**
 * Checks that a key-value history is linearizable: that every operation can be given one
 * instant between its invocation and its response such that, in that order, the store behaved
 * sequentially. Keys are independent, so each key's operations are checked alone.
 *
 * When the time budget runs out, each key not yet decided is still checked for the common
 * violations that need no search (a read of a value already overwritten or not yet written).
 * Feed it only operations that claim linearizability: stale reads belong elsewhere.
 * Throws RangeError or TypeError, naming the event, on a history it cannot interpret.
 */
export function checkLinearizable(
  history: readonly KvEvent[],
  options: KvCheckOptions = {},
): LinearizabilityResult {
  history.forEach(validateKvEvent);
  const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const byKey = new Map<string, KvEvent[]>();
  for (const event of history) {
    const events = byKey.get(event.op.key);
    if (events === undefined) byKey.set(event.op.key, [event]);
    else events.push(event);
  }
  let timedOut = false;
  for (const key of [...byKey.keys()].sort()) {
    const events = pruneUnobservable(byKey.get(key)!);
    const initial = options.initial?.get(key) ?? null;
    const model = registerModel(initial);
    // Past the deadline this returns after a few thousand steps, leaving the direct refutation.
    const outcome = searchLinearization(model, events, { deadline });
    if (outcome.kind === 'violation') {
      const { longestPrefix, stuck } = outcome;
      const witness = shrinkWitness(model, events, stuck, {
        deadline,
        maxSteps: SHRINK_STEPS_FACTOR * outcome.steps,
      });
      const reason = [
        `key ${JSON.stringify(key)}: no linearization of its ${events.length} operations exists.`,
        ...renderWitness(witness),
        `The longest linearizable prefix has ${longestPrefix.length} operations; it ends:`,
        ...longestPrefix.slice(-PREFIX_TAIL).map((event) => `  ${renderKvEvent(event)}`),
        'and none of these fits next:',
        ...stuck.map((event) => `  ${renderKvEvent(event)}`),
      ].join('\n');
      return { ok: false, key, reason, witness, longestPrefix, stuck };
    }
    if (outcome.kind === 'timeout') {
      const refuted = findImpossibleObservation(events, initial);
      if (refuted === undefined) {
        timedOut = true;
        continue;
      }
      const { observer, witness } = refuted;
      const reason = [
        `key ${JSON.stringify(key)}: the search ran out of time, but this operation observed a value no write`,
        `could have left in place while it ran: ${renderKvEvent(observer)}`,
        ...renderWitness(witness),
      ].join('\n');
      return { ok: false, key, reason, witness, longestPrefix: [], stuck: [observer] };
    }
  }
  return timedOut ? { ok: 'unknown', reason: 'timeout' } : { ok: true };
}

function renderWitness(witness: readonly KvEvent[]): string[] {
  return [
    `These ${witness.length} alone admit no linearization:`,
    ...witness.map((event) => `  ${renderKvEvent(event)}`),
  ];
}
