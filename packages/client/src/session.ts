import type { CallOptions, CasResult, RaftkitClient } from './client.ts';
import { casResult } from './client.ts';

/**
 * A client session: exactly-once writes (Raft dissertation §6.3). Each write gets the next number
 * in the session; the server applies a number once and answers a repeat with its first outcome.
 * So the client may, and does, resend a write whose outcome it does not know (a 504, a lost
 * connection, a leader change) until an answer comes: a counter incremented through a session
 * ends exactly right however often requests were retried. Each write also tells the server the
 * lowest number still waiting for an answer, so it can forget the answers below.
 *
 * A session expires after `ttlMs` unused (then writes fail with code `SessionExpired`: open a new
 * one). Writes may run concurrently; each keeps its number across its retries.
 */
export class ClientSession {
  #nextSeq = 1;
  readonly #waiting = new Set<number>();

  constructor(
    private readonly client: RaftkitClient,
    readonly id: number,
    readonly ttlMs: number,
  ) {}

  /**
   * Sets `key` to `value`, exactly once however often it is retried; resolves with the index it first
   * committed at.
   */
  put(key: string, value: string | Uint8Array, options: CallOptions = {}): Promise<{ index: number }> {
    return this.#numbered((headers) =>
      this.client.write({ method: 'PUT', key, body: value as BodyInit }, options, headers),
    );
  }

  /** Deletes `key`, exactly once however often it is retried. */
  delete(key: string, options: CallOptions = {}): Promise<{ index: number }> {
    return this.#numbered((headers) => this.client.write({ method: 'DELETE', key }, options, headers));
  }

  /**
   * Compare-and-swap as `RaftkitClient.cas`, exactly once: a retry is answered with the first outcome, so a
   * swap that succeeded is never reported as a mismatch against its own write.
   */
  cas(
    key: string,
    expected: string | null,
    value: string | null,
    options: CallOptions = {},
  ): Promise<CasResult> {
    return this.#numbered((headers) =>
      casResult(this.client.casOnce(key, expected, value, headers, true, options)),
    );
  }

  async #numbered<T>(send: (headers: Readonly<Record<string, string>>) => Promise<T>): Promise<T> {
    const seq = this.#nextSeq++;
    this.#waiting.add(seq);
    try {
      // Every number below the lowest still waiting has its answer.
      const acked = Math.min(...this.#waiting);
      return await send({
        'raftkit-session': String(this.id),
        'raftkit-seq': String(seq),
        'raftkit-acked': String(acked),
      });
    } finally {
      this.#waiting.delete(seq);
    }
  }
}
