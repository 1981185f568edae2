import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
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
 * line-separated (none before the body can hold a newline: header values cannot), so no part can be moved
 * into another and a MAC for one request proves nothing about any other. The secret itself
 * never leaves the process.
 */
export class RequestAuthenticator {
  private readonly key: Uint8Array;

  constructor(secret: Uint8Array | string) {
    const key = typeof secret === 'string' ? utf8.encode(secret) : Uint8Array.from(secret);
    if (key.length < MIN_SECRET_BYTES) {
      throw new RangeError(`secret must be at least ${MIN_SECRET_BYTES} bytes, got ${key.length}`);
    }
    this.key = key;
  }

  sign(request: SignedRequest): string {
    return bytesToHex(this.mac(request));
  }

  /** Compares in constant time, so response timing does not leak how much of a forged MAC was right. */
  verify(request: SignedRequest, macHex: string): boolean {
    if (!MAC_HEX.test(macHex)) return false;
    return equalBytes(this.mac(request), hexToBytes(macHex));
  }

  private mac({ route, from, timestamp, nonce, body }: SignedRequest): Uint8Array {
    const prefix = utf8.encode(`raftkit/1\n${route}\n${from}\n${timestamp}\n${nonce}\n`);
    return hmac.create(sha256, this.key).update(prefix).update(body).digest();
  }
}

/** Constant-time equality of two byte strings of the same length. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
