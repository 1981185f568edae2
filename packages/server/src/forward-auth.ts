import { Rejected, ReplayGuard, RequestAuthenticator, RequestSigner } from '@raftkit/transport-http';

/**
 * Authenticates proposals a follower forwards to its leader with the cluster secret, through the
 * peer transport's request signer on a route of its own ('propose'): the same headers and MAC
 * construction as peer traffic, yet a MAC made for peer traffic is useless here and vice versa.
 *
 * A forwarded proposal is not idempotent: a replayed one would write twice. Accepted MACs are
 * remembered for the acceptance window and a repeat is refused.
 */
const ROUTE = 'propose';

/**
 * Why a forwarded proposal was refused: a MAC that does not verify, a timestamp outside the window, a MAC
 * already accepted, or a replay table full (`busy`: retry later).
 */
export type ForwardAuthFailure = 'unauthenticated' | 'stale' | 'replay' | 'busy';

/**
 * Signs forwarded proposals on the follower and verifies them on the leader, as described above. Every
 * member must be built with the same `secret` (at least 16 bytes); `windowMs` (default 30 s) bounds clock
 * skew and how long accepted MACs are remembered.
 */
export class ForwardAuthenticator {
  readonly #signer: RequestSigner;

  constructor(secret: string, options: { windowMs?: number; now?: () => number; maxSeen?: number } = {}) {
    const windowMs = options.windowMs ?? 30_000;
    this.#signer = new RequestSigner(
      new RequestAuthenticator(secret),
      new ReplayGuard(windowMs, options.maxSeen ?? 100_000),
      windowMs,
      options.now ?? Date.now,
    );
  }

  /** Headers that authenticate `body` as sent by `from`. */
  sign(from: string, body: Uint8Array): Promise<Record<string, string>> {
    return this.#signer.headers(ROUTE, from, body);
  }

  /** Null when the request is authentic, fresh and new; otherwise why not. Records it as seen. */
  async verify(headers: Headers, body: Uint8Array): Promise<ForwardAuthFailure | null> {
    try {
      await this.#signer.verify(ROUTE, this.#signer.checkHeaders(headers), body);
      return null;
    } catch (error) {
      if (!(error instanceof Rejected)) throw error;
      return error.reason === 'stale' || error.reason === 'replay' || error.reason === 'busy'
        ? error.reason
        : 'unauthenticated';
    }
  }
}
