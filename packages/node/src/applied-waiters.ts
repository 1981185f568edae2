import { RaftNodeError, type RaftNodeErrorCode } from './errors.ts';

interface Waiter {
  readonly index: number;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Promises that settle once the state machine has applied a given index, or time out. */
export class AppliedWaiters {
  #waiters: Waiter[] = [];

  constructor(
    private readonly onTimeout: () => void,
    /** What a waiter past its deadline fails with: `Timeout` for a write (it may still apply), a read's own code for a read. */
    private readonly timeoutCode: RaftNodeErrorCode = 'Timeout',
  ) {}

  get size(): number {
    return this.#waiters.length;
  }

  /** Resolves once `applied(i)` is called with `i >= index`. The caller checks the current index first. */
  wait(index: number, deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ index, deadline, resolve, reject });
    });
  }

  applied(index: number): void {
    if (this.#waiters.length > 0) this.#settle((w) => (w.index <= index ? undefined : null));
  }

  expire(now: number): void {
    if (this.#waiters.some((w) => w.deadline <= now)) {
      this.#settle((w) => {
        if (w.deadline > now) return null;
        this.onTimeout();
        return new RaftNodeError(this.timeoutCode, `index ${w.index} was not applied here in time`);
      });
    }
  }

  rejectAll(error: unknown): void {
    this.#settle(() => error);
  }

  /** `outcome` returns null to keep waiting, undefined to resolve, or the error to reject with. */
  #settle(outcome: (w: Waiter) => unknown): void {
    const still: Waiter[] = [];
    const waiters = this.#waiters;
    this.#waiters = still;
    for (const w of waiters) {
      const result = outcome(w);
      if (result === null) still.push(w);
      else if (result === undefined) w.resolve();
      else w.reject(result);
    }
  }
}
