/**
 * Authenticates proposals a follower forwards to its leader with the cluster secret: HMAC-SHA256
 * over a domain tag, the sender id, a timestamp, a nonce and the body, the same fields the peer
 * transport signs, under a tag of its own so a MAC made for peer traffic is useless here and
 * vice versa. Web Crypto, so the same code runs on Node, Bun and Deno.
 *
 * A forwarded proposal is not idempotent: a replayed one would write twice. Accepted MACs are
 * remembered for the acceptance window and a repeat is refused.
 */
const DOMAIN = 'raftkit-forward/1';
const utf8 = new TextEncoder();
const MAC_HEX = /^[0-9a-f]{64}$/;
const NONCE_HEX = /^[0-9a-f]{16,64}$/;

export const FORWARD_HEADERS = {
  from: 'x-raftkit-from',
  timestamp: 'x-raftkit-timestamp',
  nonce: 'x-raftkit-nonce',
  mac: 'x-raftkit-mac',
} as const;

export type ForwardAuthFailure = 'unauthenticated' | 'stale' | 'replay' | 'busy';

export class ForwardAuthenticator {
  readonly #key: Promise<CryptoKey>;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** MAC → when it may be forgotten (its timestamp has left the window). */
  readonly #seen = new Map<string, number>();
  readonly #maxSeen: number;

  constructor(secret: string, options: { windowMs?: number; now?: () => number; maxSeen?: number } = {}) {
    this.#key = crypto.subtle.importKey(
      'raw',
      utf8.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    this.#windowMs = options.windowMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#maxSeen = options.maxSeen ?? 100_000;
  }

  /** Headers that authenticate `body` as sent by `from`. */
  async sign(from: string, body: Uint8Array): Promise<Record<string, string>> {
    const timestamp = String(this.#now());
    const nonce = toHex(crypto.getRandomValues(new Uint8Array(8)));
    const mac = new Uint8Array(
      await crypto.subtle.sign(
        'HMAC',
        await this.#key,
        signed(from, timestamp, nonce, body) as Uint8Array<ArrayBuffer>,
      ),
    );
    return {
      [FORWARD_HEADERS.from]: from,
      [FORWARD_HEADERS.timestamp]: timestamp,
      [FORWARD_HEADERS.nonce]: nonce,
      [FORWARD_HEADERS.mac]: toHex(mac),
    };
  }

  /** Null when the request is authentic, fresh and new; otherwise why not. Records it as seen. */
  async verify(headers: Headers, body: Uint8Array): Promise<ForwardAuthFailure | null> {
    const from = headers.get(FORWARD_HEADERS.from);
    const timestamp = headers.get(FORWARD_HEADERS.timestamp);
    const nonce = headers.get(FORWARD_HEADERS.nonce);
    const mac = headers.get(FORWARD_HEADERS.mac);
    if (from === null || timestamp === null || nonce === null || mac === null) return 'unauthenticated';
    if (!/^\d{1,16}$/.test(timestamp) || !NONCE_HEX.test(nonce) || !MAC_HEX.test(mac))
      return 'unauthenticated';
    // crypto.subtle.verify compares in constant time.
    const valid = await crypto.subtle.verify(
      'HMAC',
      await this.#key,
      fromHex(mac),
      signed(from, timestamp, nonce, body) as Uint8Array<ArrayBuffer>,
    );
    if (!valid) return 'unauthenticated';
    const now = this.#now();
    if (Math.abs(now - Number(timestamp)) > this.#windowMs) return 'stale';
    this.#forgetExpired(now);
    if (this.#seen.has(mac)) return 'replay';
    // Full memory refuses rather than forgets early: forgetting would re-open the replay window.
    if (this.#seen.size >= this.#maxSeen) return 'busy';
    this.#seen.set(mac, Number(timestamp) + this.#windowMs);
    return null;
  }

  #forgetExpired(now: number): void {
    // Insertion order is close to expiry order; stop at the first one still live.
    for (const [mac, expires] of this.#seen) {
      if (expires >= now) break;
      this.#seen.delete(mac);
    }
  }
}

function signed(from: string, timestamp: string, nonce: string, body: Uint8Array): Uint8Array {
  const prefix = utf8.encode(`${DOMAIN}\n${from}\n${timestamp}\n${nonce}\n`);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
