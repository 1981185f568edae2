import { crc32c } from './crc32c.ts';
import {
  checkSegmentHeader,
  FRAME_HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  readFrameHeader,
  SEGMENT_HEADER_BYTES,
} from './wal-format.ts';

/** A whole frame found in a segment: `offset` is its header's, the payload follows it. */
export interface Frame {
  readonly offset: number;
  readonly payload: Uint8Array;
}

export type SegmentEnd =
  | { readonly type: 'clean' }
  /** The last segment ends in a partial write from `offset` on: cut there (0: remove the file). */
  | { readonly type: 'torn'; readonly offset: number }
  | {
      readonly type: 'damaged';
      readonly kind: 'Corrupt' | 'UnsupportedVersion';
      readonly offset: number;
      readonly message: string;
    };

export interface SegmentScan {
  /** The sequence number the header carries (NaN when the header is unreadable). */
  readonly seq: number;
  /** Where the whole frames end: appends continue here. Zeros after it are preallocated space. */
  readonly used: number;
  readonly frames: readonly Frame[];
  readonly end: SegmentEnd;
}

const allZero = (bytes: Uint8Array, from: number): boolean => {
  for (let i = from; i < bytes.byteLength; i++) if (bytes[i] !== 0) return false;
  return true;
};

/**
 * Splits a segment into frames, verifying each checksum, and classifies how it ends.
 *
 * Only the newest segment can end in a torn write: every save fsyncs before the next write, and
 * a new segment is started only after the previous one is durable (and cut to its used size).
 * The newest segment is preallocated, so its data ends where only zeros follow. In it, a bad
 * frame is torn when nothing follows it but zeros (or end of file): a partial write. A bad frame
 * followed by data is damage to fsynced, possibly acknowledged data: corruption, never cut. In
 * older segments every bad frame, and any zero tail, is corruption.
 */
export function scanSegment(bytes: Uint8Array, isLast: boolean): SegmentScan {
  const damaged = (offset: number, message: string): SegmentScan => ({
    seq: Number.NaN,
    used: 0,
    frames: [],
    end: { type: 'damaged', kind: 'Corrupt', offset, message },
  });
  if (bytes.byteLength < SEGMENT_HEADER_BYTES) {
    return isLast
      ? { seq: Number.NaN, used: 0, frames: [], end: { type: 'torn', offset: 0 } }
      : damaged(0, 'segment shorter than its header');
  }
  const header = checkSegmentHeader(bytes);
  if (!header.ok) {
    // A new segment's header goes out in one write with its first frames: a partial header with
    // nothing but zeros after it is that write, torn.
    if (isLast && header.kind === 'Corrupt' && allZero(bytes, SEGMENT_HEADER_BYTES)) {
      return { seq: Number.NaN, used: 0, frames: [], end: { type: 'torn', offset: 0 } };
    }
    return {
      seq: Number.NaN,
      used: 0,
      frames: [],
      end: { type: 'damaged', kind: header.kind, offset: 0, message: header.message },
    };
  }

  const frames: Frame[] = [];
  const finish = (end: SegmentEnd, used: number): SegmentScan => ({ seq: header.seq, used, frames, end });
  /** A bad frame at `offset` whose bytes, if any, end at `end`: torn only at the very tail. */
  const bad = (offset: number, end: number, message: string): SegmentScan =>
    isLast && allZero(bytes, end)
      ? finish({ type: 'torn', offset }, offset)
      : finish({ type: 'damaged', kind: 'Corrupt', offset, message }, offset);

  let at = SEGMENT_HEADER_BYTES;
  while (at < bytes.byteLength) {
    // The newest segment is preallocated with zeros: all zeros from here on is where the data ends.
    if (isLast && allZero(bytes, at)) return finish({ type: 'clean' }, at);
    if (bytes.byteLength - at < FRAME_HEADER_BYTES) return bad(at, bytes.byteLength, 'partial frame header');
    const frame = readFrameHeader(bytes, at);
    if (frame === null) {
      // The length is untrustworthy, so the frame's end is unknown: torn only if nothing but zeros
      // follows the header (a partial write of it, into preallocated space).
      return bad(at, at + FRAME_HEADER_BYTES, 'frame header checksum mismatch');
    }
    if (frame.length > MAX_PAYLOAD_BYTES)
      return bad(at, at + FRAME_HEADER_BYTES, `frame length ${frame.length} exceeds the maximum`);
    const end = at + FRAME_HEADER_BYTES + frame.length;
    if (end > bytes.byteLength) return bad(at, bytes.byteLength, 'frame extends past the end of the file');
    const payload = bytes.subarray(at + FRAME_HEADER_BYTES, end);
    if (crc32c(payload) !== frame.crc) return bad(at, end, 'frame payload checksum mismatch');
    frames.push({ offset: at, payload });
    at = end;
  }
  return finish({ type: 'clean' }, at);
}
