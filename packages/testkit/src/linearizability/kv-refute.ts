import { type KvEvent, observedValues, type RegisterState, writtenValue } from './kv-model.ts';

/**
 * A direct refutation for when the search runs out of time: an operation that observed a value
 * (a read's answer, a failed cas's current value, a successful cas's expected value) that no
 * write could have left in place at any instant of its interval. Each write of that value was
 * invoked after the observer returned, or was followed, before the observer was invoked, by
 * another completed write (see `overwriters`). Stale reads, lost writes and reads of values never written
 * all take this form; it costs O(n log n) where refuting by search may cost exponential time.
 *
 * Returns the observer and a witness: it, every write of the value and each one's overwriter.
 * In any order respecting real time, the overwriter lands between the write and the observer,
 * so the witness is not linearizable on its own, and it stays so inside any larger history.
 * Only complete for this one shape of violation: finding nothing proves nothing.
 */
export function findImpossibleObservation(
  events: readonly KvEvent[],
  initial: RegisterState,
): { readonly observer: KvEvent; readonly witness: readonly KvEvent[] } | undefined {
  const overwriterAfter = overwriters(events);
  const writers = new Map<RegisterState, KvEvent[]>();
  for (const event of events) {
    const value = writtenValue(event);
    if (value === undefined) continue;
    const same = writers.get(value);
    if (same === undefined) writers.set(value, [event]);
    else same.push(event);
  }
  for (const observer of events) {
    if (observer.respondedAt === null) continue;
    const observerEnd = observer.respondedAt;
    for (const value of observedValues(observer)) {
      const overwritten = (from: number) => {
        const next = overwriterAfter(from);
        return next !== undefined && next.respondedAt! < observer.invokedAt ? next : undefined;
      };
      const initialGone = value !== initial || overwritten(Number.NEGATIVE_INFINITY) !== undefined;
      if (!initialGone) continue;
      const witness = new Set<KvEvent>([observer]);
      const initialOverwriter = value === initial ? overwritten(Number.NEGATIVE_INFINITY) : undefined;
      if (initialOverwriter !== undefined) witness.add(initialOverwriter);
      const allDead = (writers.get(value) ?? []).every((writer) => {
        if (writer === observer) return true;
        witness.add(writer);
        if (writer.invokedAt > observerEnd) return true;
        const overwriter = writer.respondedAt === null ? undefined : overwritten(writer.respondedAt);
        if (overwriter !== undefined) witness.add(overwriter);
        return overwriter !== undefined;
      });
      if (allDead) return { observer, witness: events.filter((event) => witness.has(event)) };
    }
  }
  return undefined;
}

/**
 * For a time t: the completed write invoked after t that responded first. It may write the
 * very value in question; then it is itself one of that value's writes, and must be ruled out
 * in turn, which only a write of another value completing before the observer can do.
 */
function overwriters(events: readonly KvEvent[]): (after: number) => KvEvent | undefined {
  const writes = events
    .filter(
      (event) =>
        event.respondedAt !== null && event.result.kind === 'ok' && writtenValue(event) !== undefined,
    )
    .sort((a, b) => a.invokedAt - b.invokedAt);
  // earliest[i]: the first to respond among writes[i..].
  const earliest: (KvEvent | undefined)[] = new Array(writes.length + 1);
  for (let i = writes.length - 1; i >= 0; i--) {
    const later = earliest[i + 1];
    earliest[i] = later !== undefined && later.respondedAt! <= writes[i]!.respondedAt! ? later : writes[i];
  }
  return (after) => {
    let low = 0;
    let high = writes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (writes[mid]!.invokedAt > after) high = mid;
      else low = mid + 1;
    }
    return earliest[low];
  };
}
