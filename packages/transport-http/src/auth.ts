import { createHmac, timingSafeEqual } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { MAX_ID_LENGTH } from '@raftkit/core';
import { Rejected } from './rejected.ts';
import type { ReplayGuard } from './replay-guard.ts';
import { HEADER_FROM, HEADER_MAC, HEADER_NONCE, HEADER_TIMESTAMP } from './wire.ts';

/** Shorter cluster secrets are refused: an HMAC key below 128 bits invites brute force. */
export const MIN_SECRET_BYTES = 16;

const utf8 = new TextEncoder();
const MAC_HEX = /^[0-9a-f]{64}$/;
export const NONCE_HEX = /^[0-9a-f]{16,64}$/;

/** Everything a MAC covers. */
export interface SignedRequest {
  /**
   * What the request is for ('messages', 'snapshot', or an application's own, such as the
   * server's forwarded proposals): a MAC made for one route is useless on any other.
   */
  readonly route: string;
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

/** Everything a stream frame's MAC covers. */
export interface StreamFrame {
  readonly from: string;
  /** The nonce of the request that opened the stream. */
  readonly stream: string;
  /** 0 for the stream's first frame, one more for each after it. */
  readonly seq: number;
  readonly payload: Uint8Array;
}

/** Bytes of an HMAC-SHA256. */
export const FRAME_MAC_BYTES = 32;

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
 * HMAC-SHA256 runs on `node:crypto`, native in all three runtimes and synchronous: every peer
 * request is signed once and verified once, and WebCrypto's asynchronous HMAC (native too) sent
 * each of those through the thread pool and back, which under load cost more than the hashing.
 * The prefix and the body are fed to the HMAC apart, so the body is never copied. `verify`
 * compares in constant time.
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

  /** The hex HMAC of `request`, for its MAC header. */
  sign(request: SignedRequest): string {
    return bytesToHex(this.mac(request));
  }

  /**
   * Whether `macHex` is the MAC of `request` under this secret, compared in constant time; false for
   * anything malformed.
   */
  verify(request: SignedRequest, macHex: string): boolean {
    if (!MAC_HEX.test(macHex)) return false;
    return timingSafeEqual(hexToBytes(macHex), this.mac(request));
  }

  /**
   * The MAC of one frame of a message stream (see stream-frame.ts): the sender, the nonce of the
   * request that opened the stream (chosen by its receiver, so frames of one stream are useless
   * on any other), the frame's sequence number and its payload. The domain tag differs from a
   * request's, so neither MAC can pass for the other.
   */
  frameMac(frame: StreamFrame): Uint8Array {
    return createHmac('sha256', this.key)
      .update(`raftkit/1 frame\n${frame.from}\n${frame.stream}\n${frame.seq}\n`)
      .update(frame.payload)
      .digest();
  }

  /** Whether `mac` is the MAC of `frame`, compared in constant time. */
  verifyFrame(frame: StreamFrame, mac: Uint8Array): boolean {
    return mac.length === FRAME_MAC_BYTES && timingSafeEqual(mac, this.frameMac(frame));
  }

  private mac({ route, from, timestamp, nonce, body }: SignedRequest): Uint8Array {
    return createHmac('sha256', this.key)
      .update(`raftkit/1\n${route}\n${from}\n${timestamp}\n${nonce}\n`)
      .update(body)
      .digest();
  }
}

/** The authentication headers of a request, checked for form and freshness but not yet for the MAC. */
export interface AuthHeaders {
  readonly from: string;
  readonly timestamp: number;
  readonly nonce: string;
  readonly mac: string;
}

/**
 * Signs outgoing requests and admits incoming ones, for any route: the peer transport's routes
 * and any other request between members that must prove it comes from one (the server forwards
 * proposals this way). Admission runs in two steps so that a receiver can refuse a request with
 * bad headers or a stale timestamp before reading a byte of its body.
 */
export class RequestSigner {
  constructor(
    private readonly auth: RequestAuthenticator,
    private readonly replays: ReplayGuard,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** The headers that authenticate `body` on `route` as sent by `from`. */
  async headers(route: string, from: string, body: Uint8Array): Promise<Record<string, string>> {
    const timestamp = this.now();
    const nonce = newNonce();
    const mac = this.auth.sign({ route, from, timestamp, nonce, body });
    return {
      [HEADER_FROM]: from,
      [HEADER_TIMESTAMP]: String(timestamp),
      [HEADER_NONCE]: nonce,
      [HEADER_MAC]: mac,
    };
  }

  /** Step 1: the headers are present, well formed and inside the acceptance window. */
  checkHeaders(headers: Headers): AuthHeaders {
    const from = headers.get(HEADER_FROM);
    const stamp = headers.get(HEADER_TIMESTAMP);
    const nonce = headers.get(HEADER_NONCE);
    const mac = headers.get(HEADER_MAC);
    if (from === null || stamp === null || nonce === null || mac === null) {
      throw new Rejected('unauthenticated', 'missing authentication headers');
    }
    if (
      from.length === 0 ||
      from.length > MAX_ID_LENGTH ||
      !/^\d{1,15}$/.test(stamp) ||
      !NONCE_HEX.test(nonce)
    ) {
      throw new Rejected('unauthenticated', 'malformed authentication headers');
    }
    const timestamp = Number(stamp);
    const now = this.now();
    if (Math.abs(now - timestamp) > this.windowMs) {
      throw new Rejected('stale', `timestamp ${timestamp} is more than ${this.windowMs} ms from ${now}`);
    }
    return { from, timestamp, nonce, mac };
  }

  /** Step 2: the MAC covers this body on this route, and the request was not seen before. */
  async verify(route: string, checked: AuthHeaders, body: Uint8Array): Promise<void> {
    const { from, timestamp, nonce, mac } = checked;
    if (!this.auth.verify({ route, from, timestamp, nonce, body }, mac)) {
      throw new Rejected('unauthenticated', 'MAC does not verify');
    }
    // Only a verified MAC is remembered, so forged requests cannot fill the replay memory.
    const admitted = this.replays.admit(mac, timestamp, this.now());
    if (admitted === 'replay') throw new Rejected('replay', 'request already seen');
    if (admitted === 'full') throw new Rejected('busy', 'replay memory full');
  }
}
