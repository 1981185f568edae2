import type { RequestAuthenticator, StreamFrame } from './auth.ts';
import { FRAME_MAC_BYTES } from './auth.ts';
import { Rejected } from './rejected.ts';

/**
 * A message stream is the body of the response to a stream request (see stream-reader.ts): a
 * sequence of frames, each
 *
 *     length: uint32, big-endian | mac: 32 bytes | payload: `length` bytes
 *
 * The payload is a batch (batch.ts) for the node that opened the stream; an empty payload is a
 * keepalive. The MAC (`RequestAuthenticator.frameMac`) covers the sender, the stream's nonce and
 * the frame's sequence number, so a frame cannot be forged, replayed, dropped or moved within or
 * across streams without the receiver noticing.
 */
export const FRAME_HEADER_BYTES = 4 + FRAME_MAC_BYTES;

/** The bytes of one frame. */
export function encodeFrame(auth: RequestAuthenticator, frame: StreamFrame): Uint8Array<ArrayBuffer> {
  const { payload } = frame;
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(auth.frameMac(frame), 4);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** One frame as read, before its MAC is checked. */
export interface ReadFrame {
  readonly mac: Uint8Array;
  readonly payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Cuts frames out of a stream arriving in chunks of any size. A frame longer than `maxPayload`
 * is refused from its length alone, before its bytes are buffered.
 */
export class FrameParser {
  /** Bytes received that do not yet make a whole frame. */
  private pending: Uint8Array = EMPTY;

  constructor(private readonly maxPayload: number) {}

  /** Takes the next chunk; returns the frames it completes, in order. */
  push(chunk: Uint8Array): ReadFrame[] {
    let bytes = chunk;
    if (this.pending.length > 0) {
      bytes = new Uint8Array(this.pending.length + chunk.length);
      bytes.set(this.pending);
      bytes.set(chunk, this.pending.length);
    }
    const frames: ReadFrame[] = [];
    let at = 0;
    while (bytes.length - at >= FRAME_HEADER_BYTES) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
      if (length > this.maxPayload) {
        throw new Rejected('tooLarge', `stream frame of ${length} bytes exceeds ${this.maxPayload}`);
      }
      const end = at + FRAME_HEADER_BYTES + length;
      if (end > bytes.length) break;
      frames.push({
        mac: bytes.subarray(at + 4, at + FRAME_HEADER_BYTES),
        payload: bytes.subarray(at + FRAME_HEADER_BYTES, end),
      });
      at = end;
    }
    // A copy, so the frames handed out (views of `bytes`) are never overwritten by later input.
    this.pending = at === bytes.length ? EMPTY : bytes.slice(at);
    return frames;
  }

  /** Whether the stream so far ended on a frame boundary. */
  get atBoundary(): boolean {
    return this.pending.length === 0;
  }
}
