import {
  type KvEvent,
  type KvOp,
  type KvResult,
  observedValues,
  type RegisterState,
  writtenValue,
} from './kv-model.ts';
import type { Model } from './model.ts';
import { searchLinearization } from './search.ts';

/**
 * Shrinks a non-linearizable history of one key to a small sub-history that is still not
 * linearizable and still proves the original is not: an illustration a person can read.
 *
 * Removing operations at random would not do: drop the write a read observed and the read looks
 * wrong on its own. Only two kinds of removal keep the proof, since each maps every
 * linearization of the larger history to one of the smaller:
 * - operations that change nothing (reads, failed cas);
 * - writes whose value no remaining operation observes (the argument in `pruneUnobservable`).
 * Removals go by halving chunks (delta debugging) and stop at the deadline, so the result is
 * minimal when time allows and sound always.
 */
export function shrinkWitness(
  model: Model<RegisterState, KvOp, KvResult>,
  events: readonly KvEvent[],
  deadline: number,
): KvEvent[] {
  let witness = [...events];
  for (let size = Math.max(1, witness.length >>> 1); ; size >>>= 1) {
    let start = 0;
    while (start < witness.length) {
      if (performance.now() >= deadline) return witness;
      const chunk = witness.slice(start, start + size);
      const rest = [...witness.slice(0, start), ...witness.slice(start + size)];
      if (keepsProof(chunk, rest) && searchLinearization(model, rest, deadline).kind === 'violation') {
        witness = rest;
      } else {
        start += size;
      }
    }
    if (size === 1) return witness;
  }
}

/** Whether removing `chunk` from the history `chunk + rest` preserves the non-linearizability proof. */
function keepsProof(chunk: readonly KvEvent[], rest: readonly KvEvent[]): boolean {
  const writes = chunk.filter((event) => writtenValue(event) !== undefined);
  if (writes.length === 0) return true;
  // Writes in the chunk still count as observers: a cas may compare against another's value.
  const observers = new Map<RegisterState, number>();
  for (const event of [...rest, ...writes]) {
    for (const value of observedValues(event)) observers.set(value, (observers.get(value) ?? 0) + 1);
  }
  return writes.every((write) => {
    const value = writtenValue(write)!;
    const own = observedValues(write).filter((observed) => observed === value).length;
    return (observers.get(value) ?? 0) === own;
  });
}
