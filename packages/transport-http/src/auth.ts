import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Route } from './wire.ts';

/** Shorter cluster secrets are refused: an HMAC key below 128 bits invites brute force. */
export const MIN_SECRET_BYTES = 16;

const utf8 = new TextEncoder();
const MAC_HEX = /^[0-9a-f]{64}$/;
export const NONCE_HEX = /^[0-9a-f]{16,64}$/;

/** Everything a MAC covers. */
export interface SignedRequest {
  readonly route: Route;
  readonly from: string;
  /** Milliseconds since the Unix epoch, bounded by the acceptance window. */
  readonly timestamp: number;
  /**
   * Random per request, so two requests with the same body in the same millisecond (two equal
   * heartbeats) get different MACs and the second is not taken for a replay.
   */
  readonly nonce: string;
  readonly body: Uint8Array;
}

/** A fresh nonce: 8 random bytes in hex. */
export function newNonce(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(8)));
}

/**
 * Signs and checks peer requests with the shared cluster secret. The MAC covers a domain tag with
 * the wire version, the route, the sender id, the timestamp, a nonce and the body, each
 * line-separated (none before the body can hold a newline: header values cannot), so no part
 * can be moved into another and a MAC for one request proves nothing about any other. The secret
 * itself never leaves the process.
 *
 * HMAC-SHA256 runs on WebCrypto, which all three runtimes implement natively: measured on the
 * 2-core CI machine it is 16 times faster than @noble/hashes' pure JS (338 vs 21 MB/s), and the
 * MAC covers every byte of every request. `verify` compares in constant time.
 */
export class RequestAuthenticator {
  private readonly key: Promise<CryptoKey>;

  constructor(secret: Uint8Array | string) {
    const key = typeof secret === 'string' ? utf8.encode(secret) : Uint8Array.from(secret);
    if (key.length < MIN_SECRET_BYTES) {
      throw new RangeError(`secret must be at least ${MIN_SECRET_BYTES} bytes, got ${key.length}`);
    }
    this.key = crypto.subtle.importKey('raw', key, HMAC, false, ['sign', 'verify']);
  }

  async sign(request: SignedRequest): Promise<string> {
    return bytesToHex(new Uint8Array(await crypto.subtle.sign(HMAC, await this.key, macInput(request))));
  }

  async verify(request: SignedRequest, macHex: string): Promise<boolean> {
    if (!MAC_HEX.test(macHex)) return false;
    return crypto.subtle.verify(HMAC, await this.key, hexToBytes(macHex), macInput(request));
  }
}

const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const;

function macInput({ route, from, timestamp, nonce, body }: SignedRequest): Uint8Array<ArrayBuffer> {
  const prefix = utf8.encode(`raftkit/1\n${route}\n${from}\n${timestamp}\n${nonce}\n`);
  const input = new Uint8Array(prefix.length + body.length);
  input.set(prefix);
  input.set(body, prefix.length);
  return input;
}
