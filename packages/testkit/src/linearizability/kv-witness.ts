import {
  type KvEvent,
  type KvOp,
  type KvResult,
  observedValues,
  type RegisterState,
  writtenValue,
} from './kv-model.ts';
import type { Model } from './model.ts';
import { type SearchBudget, searchLinearization } from './search.ts';

/**
 * Shrinks a non-linearizable history of one key to a small sub-history that is still not
 * linearizable and still proves the original is not: an illustration a person can read.
 *
 * Removing operations at random would not do: drop the write a read observed and the read looks
 * wrong on its own. Only two kinds of removal keep the proof, since each maps every
 * linearization of the larger history to one of the smaller:
 * - operations that change nothing (reads, failed cas);
 * - writes whose value no remaining operation observes (the argument in `pruneUnobservable`).
 *
 * A failing search costs far more on some sub-histories than on the whole (drop the reads and
 * countless orders of the writes remain to rule out), so shrinking first looks for a violation
 * near the operations the search got `stuck` on: a time window around them, widened until it
 * fails on its own. Then delta debugging by halving chunks, latest operations first: chunks of
 * consecutive operations, then reads alone, then writes (a write can go only once the reads of
 * its value have), repeated until a pass removes nothing. Each attempt is bounded by `budget`
 * and counts as failed when cut short; all stop at its deadline. The witness is minimal when
 * the budget allows and a valid proof always.
 */
export function shrinkWitness(
  model: Model<RegisterState, KvOp, KvResult>,
  events: readonly KvEvent[],
  stuck: readonly KvEvent[],
  budget: SearchBudget,
): KvEvent[] {
  const removable = (chunk: readonly KvEvent[], rest: readonly KvEvent[]) =>
    keepsProof(chunk, rest) && searchLinearization(model, rest, budget).kind === 'violation';
  const isRead = (event: KvEvent) => writtenValue(event) === undefined;
  const isWrite = (event: KvEvent) => !isRead(event);
  const any = () => true;
  let witness = smallestFailingWindow(events, stuck, removable, budget.deadline);
  for (let before = Number.POSITIVE_INFINITY; witness.length < before; ) {
    before = witness.length;
    for (const eligible of [any, isRead, isWrite]) {
      witness = removeChunks(witness, eligible, removable, budget.deadline);
    }
  }
  return witness;
}

/**
 * The operations overlapping a window that ends where the `stuck` ones do and reaches back 1, 2,
 * 4, ... times their span, plus every write of a value those observe (so that dropping the
 * rest can keep the proof); the first such window that still fails, or all of `events`.
 */
function smallestFailingWindow(
  events: readonly KvEvent[],
  stuck: readonly KvEvent[],
  removable: (chunk: readonly KvEvent[], rest: readonly KvEvent[]) => boolean,
  deadline: number,
): KvEvent[] {
  if (stuck.length === 0) return [...events];
  const from = Math.min(...stuck.map((event) => event.invokedAt));
  const to = Math.max(...stuck.map((event) => event.respondedAt ?? event.invokedAt));
  const first = Math.min(...events.map((event) => event.invokedAt));
  for (let width = Math.max(1, to - from); from - width > first && performance.now() < deadline; width *= 2) {
    const chosen = new Set(
      events.filter((event) => (event.respondedAt ?? to) >= from - width && event.invokedAt <= to),
    );
    for (let added = [...chosen]; added.length > 0; ) {
      const observed = new Set(added.flatMap(observedValues));
      added = events.filter((event) => {
        const value = writtenValue(event);
        return value !== undefined && observed.has(value) && !chosen.has(event);
      });
      for (const event of added) chosen.add(event);
    }
    const window = events.filter((event) => chosen.has(event));
    const outside = events.filter((event) => !chosen.has(event));
    if (removable(outside, window)) return window;
  }
  return [...events];
}

/** One delta-debugging pass over the `eligible` events of `events`, from the end. */
function removeChunks(
  events: readonly KvEvent[],
  eligible: (event: KvEvent) => boolean,
  removable: (chunk: readonly KvEvent[], rest: readonly KvEvent[]) => boolean,
  deadline: number,
): KvEvent[] {
  let current = [...events];
  const candidates = current.filter(eligible);
  for (let size = Math.max(1, candidates.length >>> 1); ; size >>>= 1) {
    for (let end = candidates.length; end > 0; ) {
      if (performance.now() >= deadline) return current;
      const start = Math.max(0, end - size);
      const chunk = candidates.slice(start, end);
      const removed = new Set(chunk);
      const rest = current.filter((event) => !removed.has(event));
      if (removable(chunk, rest)) {
        current = rest;
        candidates.splice(start, end - start);
      }
      end = start;
    }
    if (size === 1) return current;
  }
}

/**
 * Whether removing `chunk` from the history `chunk + rest` preserves the non-linearizability
 * proof: the reads go first, then the writes one at a time, each once no operation still
 * present observes its value. Fails when `rest` observes one, or writes in the chunk observe
 * each other in a cycle (say two cas each expecting the other's value).
 */
function keepsProof(chunk: readonly KvEvent[], rest: readonly KvEvent[]): boolean {
  let writes = chunk.filter((event) => writtenValue(event) !== undefined);
  const observedByRest = new Set(rest.flatMap(observedValues));
  if (writes.some((write) => observedByRest.has(writtenValue(write)!))) return false;
  // How many writes still present observe each value, each counted once.
  const observers = new Map<RegisterState, number>();
  const count = (write: KvEvent, delta: number) => {
    for (const value of new Set(observedValues(write)))
      observers.set(value, (observers.get(value) ?? 0) + delta);
  };
  for (const write of writes) count(write, 1);
  for (let removed = true; removed; ) {
    const before = writes.length;
    writes = writes.filter((write) => {
      const value = writtenValue(write)!;
      const own = observedValues(write).includes(value) ? 1 : 0;
      if ((observers.get(value) ?? 0) > own) return true;
      count(write, -1);
      return false;
    });
    removed = writes.length < before;
  }
  return writes.length === 0;
}
