import type { RequestAuthenticator } from './auth.ts';
import { encodeFrame } from './stream-frame.ts';
import { STREAM_CONTENT_TYPE, STREAM_KEEPALIVE_MS } from './wire.ts';

/** Bytes of frames the HTTP server may hold unsent before the writer counts as backed up. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/**
 * The sending end of a message stream: the body of the response to a peer's stream request,
 * which this node writes frames into for as long as the peer keeps reading. Writing a batch is an
 * enqueue into that body, where a request per batch costs a whole HTTP transaction on each side.
 *
 * When nothing was written for a keepalive interval it writes an empty frame, so the reader can
 * tell a quiet stream from a dead connection, and idle-closing servers (Bun's) keep it open.
 */
export class OutgoingStream {
  readonly response: Response;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private seq = 0;
  private ended = false;
  private wroteSinceKeepalive = false;
  private readonly keepalive: ReturnType<typeof setInterval>;
  private readonly endWaiters: (() => void)[] = [];
  private pullWaiters: (() => void)[] = [];

  constructor(
    private readonly auth: RequestAuthenticator,
    /** This node: the frames' sender. */
    private readonly from: string,
    /** The nonce of the request that opened the stream. */
    private readonly nonce: string,
  ) {
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.wakePullers(),
        cancel: () => this.finish(),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_BYTES }),
    );
    this.response = new Response(body, {
      status: 200,
      headers: { 'content-type': STREAM_CONTENT_TYPE, 'cache-control': 'no-store' },
    });
    // An empty first frame: servers send a response's headers with its first bytes, so the
    // reader learns at once that the stream is open, not at the first batch or keepalive.
    this.write(new Uint8Array(0));
    this.keepalive = setInterval(() => {
      if (!this.wroteSinceKeepalive) this.write(new Uint8Array(0));
      this.wroteSinceKeepalive = false;
    }, STREAM_KEEPALIVE_MS);
  }

  /** The peer stopped reading (its connection closed) or `close` was called. */
  get closed(): boolean {
    return this.ended;
  }

  /** The peer reads more slowly than we write: wait for `ready` before writing more. */
  get backedUp(): boolean {
    return (this.controller.desiredSize ?? 0) <= 0;
  }

  /** Resolves when the body wants more bytes or the stream ends. */
  ready(): Promise<void> {
    if (this.ended || !this.backedUp) return Promise.resolve();
    return new Promise((resolve) => this.pullWaiters.push(resolve));
  }

  /** Resolves when the stream ends, for whatever reason. */
  whenClosed(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((resolve) => this.endWaiters.push(resolve));
  }

  /** Frames and writes one payload; false if the stream has ended (nothing was written). */
  write(payload: Uint8Array): boolean {
    if (this.ended) return false;
    const frame = encodeFrame(this.auth, { from: this.from, stream: this.nonce, seq: this.seq, payload });
    try {
      this.controller.enqueue(frame);
    } catch {
      // The runtime errored the body (its connection broke) before telling us through `cancel`.
      this.finish();
      return false;
    }
    this.seq++;
    this.wroteSinceKeepalive = true;
    return true;
  }

  /** Ends the response; the peer sees the stream end and opens another when it wants one. */
  close(): void {
    if (this.ended) return;
    try {
      this.controller.close();
    } catch {
      // Already errored by the runtime.
    }
    this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.keepalive);
    this.wakePullers();
    for (const resolve of this.endWaiters.splice(0)) resolve();
  }

  private wakePullers(): void {
    for (const resolve of this.pullWaiters.splice(0)) resolve();
  }
}
