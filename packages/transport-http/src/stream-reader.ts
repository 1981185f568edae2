import type { NodeId } from '@raftkit/core';
import type { RequestAuthenticator, RequestSigner } from './auth.ts';
import { Backoff } from './backoff.ts';
import { encodeBatch } from './batch.ts';
import type { TransportMetrics } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import { Rejected } from './rejected.ts';
import { FrameParser } from './stream-frame.ts';
import { CONTENT_TYPE, HEADER_NONCE, STREAM_CONTENT_TYPE, STREAM_KEEPALIVE_MS, STREAM_PATH } from './wire.ts';

export interface StreamReaderContext {
  readonly options: ResolvedOptions;
  readonly signer: RequestSigner;
  readonly auth: RequestAuthenticator;
  readonly metrics: TransportMetrics;
  /** Validates and delivers one frame's batch from `from`; throws `Rejected` for a bad one. */
  readonly deliver: (from: NodeId, payload: Uint8Array) => void;
  /** A stream from `from` opened or carried a frame: the peer is up. */
  readonly heard: (from: NodeId) => void;
}

/** How one stream attempt ended. */
type Outcome = 'carried' | 'failed' | 'closed';

/**
 * The receiving end of the message stream from one peer, the way etcd's rafthttp streams do it:
 * this node asks the peer (`POST /raft/v1/stream`, signed like any peer request) to send it
 * everything it has for us as frames in the response body, and reads them for as long as the
 * connection lives. A batch then costs one frame on an open connection instead of a whole HTTP
 * transaction on each side, which is most of what a small write costs.
 *
 * The request is made by the receiver so that the one who needs the messages is the one who
 * retries: a node that starts (or restarts) opens a stream to every peer at once, which also tells
 * each peer it is back. When a stream breaks, or carries nothing for three keepalive intervals
 * (or the request timeout, if longer), it is opened again, backing off while the peer stays
 * unreachable. Until a stream is open the peer sends us batches as requests.
 */
export class StreamReader {
  private readonly closing = new AbortController();
  private readonly backoff: Backoff;
  private running: Promise<void> | null = null;
  /** Ends the attempt in progress so the next one goes to a new address. */
  private restart: (() => void) | null = null;

  constructor(
    readonly peer: NodeId,
    private url: string,
    private readonly context: StreamReaderContext,
  ) {
    this.backoff = new Backoff(context.options, this.closing.signal);
  }

  /** Starts reading, once; later calls do nothing. */
  start(): void {
    this.running ??= this.run();
  }

  /** The peer moved: the stream in progress ends and the next one goes to `url`. */
  setUrl(url: string): void {
    if (url === this.url) return;
    this.url = url;
    this.restart?.();
  }

  /** The peer reached us some other way: a back-off towards it ends now. */
  heard(): void {
    this.backoff.wake();
  }

  /** Ends the stream and stops opening new ones; resolves when the reader has stopped. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const { logger } = this.context.options;
    while (!this.closing.signal.aborted) {
      const outcome = await this.readOnce();
      if (outcome === 'closed') break;
      if (outcome === 'carried') {
        this.backoff.failures = 0;
        continue;
      }
      if (this.backoff.failures === 0) logger.debug('no stream from peer, retrying', { peer: this.peer });
      await this.backoff.failed();
    }
  }

  private async readOnce(): Promise<Outcome> {
    const { options, signer, auth, metrics, deliver, heard } = this.context;
    const attempt = new AbortController();
    this.restart = () => attempt.abort();
    const signal = AbortSignal.any([this.closing.signal, attempt.signal]);
    const idleMs = Math.max(options.requestTimeoutMs, 3 * STREAM_KEEPALIVE_MS);
    // One timer per stream, re-armed when it fires for what is left of the quiet time, rather
    // than cleared and set again per chunk: on Deno that pair was 3 % of a follower's CPU.
    let heardAt = performance.now();
    const abortIfQuiet = () => {
      const quiet = performance.now() - heardAt;
      if (quiet >= idleMs) attempt.abort();
      else idle = setTimeout(abortIfQuiet, idleMs - quiet);
    };
    let idle = setTimeout(abortIfQuiet, idleMs);
    let frames = 0;
    try {
      // The body names both ends, like any batch, so a stream request meant for one node is
      // refused by any other.
      const body = encodeBatch(options.id, this.peer, []);
      const headers = await signer.headers('stream', options.id, body);
      const response = await options.fetch(this.url + STREAM_PATH, {
        method: 'POST',
        body,
        headers: { 'content-type': CONTENT_TYPE, ...headers },
        signal,
      });
      if (!response.ok || response.body === null) {
        const text = await response.text();
        metrics.sendErrors.status++;
        options.logger.debug('peer refused a stream', {
          peer: this.peer,
          status: response.status,
          body: text,
        });
        return 'failed';
      }
      if (response.headers.get('content-type') !== STREAM_CONTENT_TYPE) {
        await response.body.cancel();
        throw new Rejected('malformed', 'stream response is not a message stream');
      }
      metrics.streamsOpened++;
      heard(this.peer);
      const stream = headers[HEADER_NONCE]!;
      const parser = new FrameParser(options.maxBodyBytes);
      const reader = chunksOf(response.body, signal);
      for (;;) {
        const value = await reader.read();
        if (value === null) break;
        heardAt = performance.now();
        for (const { mac, payload } of parser.push(value)) {
          if (!auth.verifyFrame({ from: this.peer, stream, seq: frames, payload }, mac)) {
            await reader.cancel();
            throw new Rejected('unauthenticated', `stream frame ${frames} does not verify`);
          }
          frames++;
          if (payload.length > 0) deliver(this.peer, payload);
        }
      }
      if (!parser.atBoundary) options.logger.debug('stream ended inside a frame', { peer: this.peer });
      return frames > 0 ? 'carried' : 'failed';
    } catch (error) {
      if (this.closing.signal.aborted) return 'closed';
      if (error instanceof Rejected) {
        metrics.rejected[error.reason]++;
        options.logger.warn('stream from peer refused', {
          peer: this.peer,
          reason: error.reason,
          detail: error.message,
        });
      } else {
        options.logger.debug('stream from peer ended', { peer: this.peer, frames, error: String(error) });
      }
      return frames > 0 ? 'carried' : 'failed';
    } finally {
      clearTimeout(idle);
      attempt.abort();
      this.restart = null;
    }
  }
}

/** Bytes read at a time from a stream that lets us choose (`chunksOf`). */
const READ_BYTES = 256 * 1024;

interface Chunks {
  read(): Promise<Uint8Array | null>;
  cancel(): Promise<void>;
}

/**
 * The chunks of a message stream's body until `signal` aborts, when the read pending returns the
 * end of the stream. `fetch` was given the signal too, but that alone does not do on Deno: once a
 * garbage collection has run after `fetch` returned, aborting its signal no longer reaches the
 * body, and a read pending on a quiet stream never settled, so a node stopping on a fatal error
 * hung in `close` for good.
 */
function chunksOf(body: ReadableStream<Uint8Array>, signal: AbortSignal): Chunks {
  const chunks = readerOf(body);
  const cancel = () => void chunks.cancel().catch(() => {});
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
  return chunks;
}

/**
 * Reads a body chunk by chunk; a chunk is valid only until the next read, which suits the loop
 * above (frames are verified and delivered, their messages decoded into copies, before it reads
 * again). Where the body is a byte stream (Deno's `fetch`) the chunks land in one buffer of ours,
 * reused: read the default way, each chunk there came in a fresh 64 KB ArrayBuffer, and the
 * external memory that piled up made V8 run a full mark-compact about four times a second on a
 * leader taking writes one at a time.
 */
function readerOf(body: ReadableStream<Uint8Array>): Chunks {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    const reader = body.getReader();
    return {
      read: async () => {
        const { done, value } = await reader.read();
        return done ? null : value;
      },
      cancel: () => reader.cancel(),
    };
  }
  let buffer = new ArrayBuffer(READ_BYTES);
  return {
    async read() {
      const { done, value } = await byob.read(new Uint8Array(buffer));
      if (done || value === undefined) return null;
      // The read transferred the buffer into `value`; the next read reuses it from there.
      buffer = value.buffer as ArrayBuffer;
      return value;
    },
    cancel: () => byob.cancel(),
  };
}
