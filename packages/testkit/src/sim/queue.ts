/**
 * Future events ordered by logical time, ties broken by the order they were scheduled in, so
 * that the order of processing depends on the seed alone. A binary min-heap.
 */
export class EventQueue<T> {
  readonly #heap: { time: number; seq: number; value: T }[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(time: number, value: T): void {
    const heap = this.#heap;
    heap.push({ time, seq: this.#seq++, value });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** Removes and returns the earliest event due at or before `time`, if any. */
  popDue(time: number): T | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (top === undefined || top.time > time) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top.value;
  }
}

const before = (a: { time: number; seq: number }, b: { time: number; seq: number }) =>
  a.time < b.time || (a.time === b.time && a.seq < b.seq);
