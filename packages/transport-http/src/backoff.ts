import type { ResolvedOptions } from './options.ts';

/**
 * The wait after failed attempts to reach one peer: `retryBackoffMs`, doubling per consecutive
 * failure, capped at `maxRetryBackoffMs`, so a down peer is not hammered. Hearing from the peer
 * (`wake`) or giving up on it (the abort signal) cuts a wait short.
 */
export class Backoff {
  /** Consecutive failures since the last success. */
  failures = 0;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly options: Pick<ResolvedOptions, 'retryBackoffMs' | 'maxRetryBackoffMs'>,
    private readonly signal: AbortSignal,
  ) {}

  /** Counts a failure and waits the delay it earns. */
  failed(): Promise<void> {
    this.failures++;
    const { retryBackoffMs, maxRetryBackoffMs } = this.options;
    const delay = Math.min(retryBackoffMs * 2 ** Math.min(this.failures - 1, 30), maxRetryBackoffMs);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', done);
        this.wakeUp = null;
        resolve();
      };
      this.wakeUp = done;
      const timer = setTimeout(done, delay);
      this.signal.addEventListener('abort', done);
    });
  }

  /** Ends the wait in progress, if any. */
  wake(): void {
    this.wakeUp?.();
  }
}
