import type { Clock } from '../../src/clock.ts';

interface Interval {
  readonly ms: number;
  next: number;
  readonly fn: () => void;
}

/** Virtual time: intervals fire only when a test advances the clock, so no test ever sleeps. */
export class ManualClock implements Clock {
  #now = 0;
  readonly #intervals = new Set<Interval>();

  now(): number {
    return this.#now;
  }

  every(ms: number, fn: () => void): () => void {
    const interval: Interval = { ms, next: this.#now + ms, fn };
    this.#intervals.add(interval);
    return () => this.#intervals.delete(interval);
  }

  /** How many intervals are still registered: 0 once every node stopped cleanly. */
  get activeTimers(): number {
    return this.#intervals.size;
  }

  /** Moves time forward by `ms`, firing every interval that falls due, in time order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let due: Interval | null = null;
      for (const interval of this.#intervals) {
        if (interval.next <= target && (due === null || interval.next < due.next)) due = interval;
      }
      if (due === null) break;
      this.#now = due.next;
      due.next += due.ms;
      due.fn();
    }
    this.#now = target;
  }
}
