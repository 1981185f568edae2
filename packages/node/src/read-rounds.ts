import type { ReadMode } from '@raftkit/core';

/**
 * Hands quorum reads to the core one batch at a time, as etcd's read loop does: while a batch
 * waits for its read index, the reads that arrive are held, and they go to the core together once
 * it is answered, so they share one heartbeat round. Without this each Ready's few reads started
 * a round of their own (a request and a response per follower), which under load cost more than
 * the reads themselves. Lease reads pass straight through: while the lease holds they need no
 * round.
 *
 * A batch the core does not answer (leadership lost, a message dropped) is given up on after
 * `patienceMs`, so the held reads never wait on it for longer: they then go as the next batch.
 */
export class ReadRounds {
  readonly #inFlight = new Set<number>();
  #since = 0;
  #held = new Set<number>();

  constructor(
    private readonly readIndex: (requestId: number, mode: ReadMode) => void,
    private readonly patienceMs: number,
  ) {}

  request(requestId: number, mode: ReadMode, now: number): void {
    if (mode === 'lease' || this.#inFlight.has(requestId)) {
      this.readIndex(requestId, mode);
    } else if (this.#inFlight.size === 0) {
      this.#send([requestId], now);
    } else {
      this.#held.add(requestId);
    }
  }

  /** The core answered `requestId` (any mode); the last answer of a batch sends the next one. */
  answered(requestId: number, now: number): void {
    if (this.#inFlight.delete(requestId) && this.#inFlight.size === 0) this.#sendHeld(now);
  }

  tick(now: number): void {
    if (this.#inFlight.size > 0 && now - this.#since >= this.patienceMs) {
      this.#inFlight.clear();
      this.#sendHeld(now);
    }
  }

  #sendHeld(now: number): void {
    if (this.#held.size === 0) return;
    const held = [...this.#held];
    this.#held = new Set();
    this.#send(held, now);
  }

  #send(requestIds: readonly number[], now: number): void {
    this.#since = now;
    for (const id of requestIds) this.#inFlight.add(id);
    for (const id of requestIds) this.readIndex(id, 'quorum');
  }
}
