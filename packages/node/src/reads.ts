import type { ReadMode } from '@raftkit/core';
import { AppliedWaiters } from './applied-waiters.ts';
import { RaftNodeError } from './errors.ts';
import { RequestIds } from './request-ids.ts';

interface Asked {
  readonly mode: ReadMode;
  readonly deadline: number;
  /** When to ask the core again: it drops a read it cannot serve (no leader, leadership lost) silently. */
  retryAt: number;
  /** Resolving with the wait for apply adopts it. */
  readonly resolve: (value: void | Promise<void>) => void;
  readonly reject: (error: unknown) => void;
}

export interface ReadTimers {
  readonly timeoutMs: number;
  /** About an election timeout: by then a lost request has been superseded by a new leader. */
  readonly retryMs: number;
}

/**
 * Reads waiting for their read index (from the core's `readStates`), then for the state machine
 * to apply up to it. Concurrent reads need no batching here: the core makes all reads that
 * arrive between two heartbeats share one round.
 */
export class PendingReads {
  /** Unique across this node's restarts, not just in this process: see `RequestIds`. */
  readonly #ids = new RequestIds();
  readonly #asked = new Map<number, Asked>();
  readonly #applying: AppliedWaiters;

  constructor(
    private readonly limit: number,
    private readonly timers: ReadTimers,
    private readonly request: (requestId: number, mode: ReadMode) => void,
    private readonly onFailed: () => void,
  ) {
    this.#applying = new AppliedWaiters(onFailed, 'ReadUnavailable');
  }

  get size(): number {
    return this.#asked.size + this.#applying.size;
  }

  /** Asks the core for a read index; resolves once the state machine has applied up to it. */
  add(mode: ReadMode, now: number): Promise<void> {
    if (this.size >= this.limit) {
      this.onFailed();
      return Promise.reject(new RaftNodeError('Busy', `${this.limit} reads already waiting`));
    }
    const requestId = this.#ids.next();
    const served = new Promise<void>((resolve, reject) => {
      this.#asked.set(requestId, {
        mode,
        deadline: now + this.timers.timeoutMs,
        retryAt: now + this.timers.retryMs,
        resolve,
        reject,
      });
    });
    this.request(requestId, mode);
    return served;
  }

  /** The core answered `requestId` with `index`. A retried request may be answered twice: the first wins. */
  answered(requestId: number, index: number, applied: number): void {
    const asked = this.#asked.get(requestId);
    if (asked === undefined) return;
    this.#asked.delete(requestId);
    asked.resolve(index <= applied ? undefined : this.#applying.wait(index, asked.deadline));
  }

  /** The state machine applied up to `index`: serve every read that waited for it. */
  applied(index: number): void {
    this.#applying.applied(index);
  }

  /** Times out reads past their deadline and asks again for those the core seems to have dropped. */
  tick(now: number): void {
    for (const [requestId, asked] of this.#asked) {
      if (asked.deadline <= now) {
        this.#asked.delete(requestId);
        this.onFailed();
        asked.reject(
          new RaftNodeError('ReadUnavailable', 'no quorum confirmed the read in time: it was not served'),
        );
      } else if (asked.retryAt <= now) {
        asked.retryAt = now + this.timers.retryMs;
        this.request(requestId, asked.mode);
      }
    }
    this.#applying.expire(now);
  }

  /** Fails the reads still waiting for a read index (those with one may still be served). */
  abandonUnconfirmed(error: unknown): void {
    for (const asked of this.#asked.values()) {
      this.onFailed();
      asked.reject(error);
    }
    this.#asked.clear();
  }

  rejectAll(error: unknown): void {
    for (const asked of this.#asked.values()) {
      this.onFailed();
      asked.reject(error);
    }
    this.#asked.clear();
    for (let i = 0; i < this.#applying.size; i++) this.onFailed();
    this.#applying.rejectAll(error);
  }
}
