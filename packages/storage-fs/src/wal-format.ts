import type { Entry, EntryType, HardState } from '@raftkit/core';
import { index, nodeId, term } from '@raftkit/core';
import { crc32c } from './crc32c.ts';

/**
 * The write-ahead log's bytes. All integers little-endian; indexes and terms are float64 so they
 * stay exact up to 2^53 without BigInt on the hot path.
 *
 * Segment file `wal-<seq>.log`:
 *   header  magic "RKWL" | version u16 | reserved u16 | seq f64 | crc32c(previous 16 bytes) u32
 *   frames  payloadLength u32 | crc32c(payload) u32 | crc32c(previous 8 bytes) u32 | payload
 *
 * The frame header has its own checksum so a damaged length is never trusted: without it a flipped
 * bit in a length mid-segment could claim the rest of the file and pass for a torn tail.
 *
 * Payloads:
 *   batch   1 u8 | hasHardState u8 | [term f64 | commitIndex f64 | voteLength u16 (0xffff: null)
 *           | vote utf8] | firstIndex f64 | count u32 | count x (term f64 | type u8 | length u32
 *           | data)
 *   marker  2 u8 | index f64 | term f64 | logKept u8
 *
 * One `save()` is one batch frame, so a crash leaves the whole Ready or none of it. A batch's
 * entries replace any stored entry from `firstIndex` on (logical truncation: nothing is rewritten
 * in place). A marker records that a snapshot at (index, term) took effect and whether the log
 * after it was kept or discarded.
 */
export const WAL_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 20;
export const FRAME_HEADER_BYTES = 12;
/** One entry's header inside a batch: term, type, data length. */
export const ENTRY_HEADER_BYTES = 13;
/** Bounds one frame so a damaged-but-checksummed length can never make us allocate the world. */
export const MAX_PAYLOAD_BYTES = 1 << 30;

const SEGMENT_MAGIC = 0x4c574b52; // "RKWL" read as little-endian u32
const RECORD_BATCH = 1;
const RECORD_MARKER = 2;
const NO_VOTE = 0xffff;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const segmentName = (seq: number): string => `wal-${String(seq).padStart(16, '0')}.log`;

export function parseSegmentName(name: string): number | null {
  const match = /^wal-(\d{16})\.log$/.exec(name);
  return match ? Number(match[1]) : null;
}

export function encodeSegmentHeader(seq: number): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SEGMENT_MAGIC, true);
  view.setUint16(4, WAL_VERSION, true);
  view.setFloat64(8, seq, true);
  view.setUint32(16, crc32c(bytes.subarray(0, 16)), true);
  return bytes;
}

export type SegmentHeaderCheck =
  | { readonly ok: true; readonly seq: number }
  | { readonly ok: false; readonly kind: 'Corrupt' | 'UnsupportedVersion'; readonly message: string };

export function checkSegmentHeader(bytes: Uint8Array): SegmentHeaderCheck {
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(0, true) !== SEGMENT_MAGIC) {
    return { ok: false, kind: 'Corrupt', message: 'not a raftkit WAL segment (bad magic)' };
  }
  if (view.getUint32(16, true) !== crc32c(bytes.subarray(0, 16))) {
    return { ok: false, kind: 'Corrupt', message: 'segment header checksum mismatch' };
  }
  const version = view.getUint16(4, true);
  if (version !== WAL_VERSION) {
    return {
      ok: false,
      kind: 'UnsupportedVersion',
      message: `segment format version ${version}, this build reads version ${WAL_VERSION}`,
    };
  }
  return { ok: true, seq: view.getFloat64(8, true) };
}

function writeFrameHeader(view: DataView, at: number, payload: Uint8Array): void {
  view.setUint32(at, payload.byteLength, true);
  view.setUint32(at + 4, crc32c(payload), true);
  view.setUint32(at + 8, crc32c(new Uint8Array(view.buffer, view.byteOffset + at, 8)), true);
}

/** Frame header fields, or null when its own checksum fails (the length cannot be trusted). */
export function readFrameHeader(bytes: Uint8Array, at: number): { length: number; crc: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, FRAME_HEADER_BYTES);
  if (view.getUint32(8, true) !== crc32c(bytes.subarray(at, at + 8))) return null;
  return { length: view.getUint32(0, true), crc: view.getUint32(4, true) };
}

/** Lengths of everything a batch frame holds, computed before encoding so one buffer suffices. */
function hardStateBytes(hardState: HardState | null, vote: Uint8Array | null): number {
  return hardState === null ? 0 : 18 + (vote?.byteLength ?? 0);
}

export interface EncodedBatch {
  /** The whole frame: header and payload. */
  readonly bytes: Uint8Array;
  /** Where each entry's header starts, relative to `bytes`. */
  readonly entryOffsets: readonly number[];
}

export function encodeBatchFrame(hardState: HardState | null, entries: readonly Entry[]): EncodedBatch {
  const vote = hardState?.votedFor == null ? null : encoder.encode(hardState.votedFor);
  if (vote !== null && vote.byteLength >= NO_VOTE) throw new RangeError('votedFor is too long');
  let payloadLength = 2 + hardStateBytes(hardState, vote) + 12;
  for (const entry of entries) payloadLength += ENTRY_HEADER_BYTES + entry.data.byteLength;
  if (payloadLength > MAX_PAYLOAD_BYTES) throw new RangeError(`batch of ${payloadLength} bytes is too large`);

  const bytes = new Uint8Array(FRAME_HEADER_BYTES + payloadLength);
  const view = new DataView(bytes.buffer);
  let at = FRAME_HEADER_BYTES;
  view.setUint8(at, RECORD_BATCH);
  view.setUint8(at + 1, hardState === null ? 0 : 1);
  at += 2;
  if (hardState !== null) {
    view.setFloat64(at, hardState.term, true);
    view.setFloat64(at + 8, hardState.commitIndex, true);
    view.setUint16(at + 16, vote === null ? NO_VOTE : vote.byteLength, true);
    at += 18;
    if (vote !== null) {
      bytes.set(vote, at);
      at += vote.byteLength;
    }
  }
  view.setFloat64(at, entries[0]?.index ?? 0, true);
  view.setUint32(at + 8, entries.length, true);
  at += 12;
  const entryOffsets: number[] = [];
  for (const entry of entries) {
    entryOffsets.push(at);
    view.setFloat64(at, entry.term, true);
    view.setUint8(at + 8, entry.type === 'config' ? 1 : 0);
    view.setUint32(at + 9, entry.data.byteLength, true);
    bytes.set(entry.data, at + ENTRY_HEADER_BYTES);
    at += ENTRY_HEADER_BYTES + entry.data.byteLength;
  }
  writeFrameHeader(view, 0, bytes.subarray(FRAME_HEADER_BYTES));
  return { bytes, entryOffsets };
}

export function encodeMarkerFrame(snapshotIndex: number, snapshotTerm: number, logKept: boolean): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES + 18);
  const view = new DataView(bytes.buffer);
  view.setUint8(FRAME_HEADER_BYTES, RECORD_MARKER);
  view.setFloat64(FRAME_HEADER_BYTES + 1, snapshotIndex, true);
  view.setFloat64(FRAME_HEADER_BYTES + 9, snapshotTerm, true);
  view.setUint8(FRAME_HEADER_BYTES + 17, logKept ? 1 : 0);
  writeFrameHeader(view, 0, bytes.subarray(FRAME_HEADER_BYTES));
  return bytes;
}

/** A decoded record. Batch entries are described by position only: replay never copies payloads. */
export type WalRecord =
  | {
      readonly type: 'batch';
      readonly hardState: HardState | null;
      readonly firstIndex: number;
      readonly count: number;
      /** Offsets (relative to the payload) and sizes of each entry, terms alongside. */
      readonly terms: Float64Array;
      readonly offsets: Uint32Array;
      readonly sizes: Uint32Array;
    }
  | { readonly type: 'marker'; readonly index: number; readonly term: number; readonly logKept: boolean };

/** Thrown by the decoder when a payload whose checksum passed is still malformed (a writer bug). */
export class MalformedRecord extends Error {}

export function decodeRecord(payload: Uint8Array): WalRecord {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const need = (at: number, n: number) => {
    if (at + n > payload.byteLength) throw new MalformedRecord('record shorter than its contents');
  };
  need(0, 1);
  const type = view.getUint8(0);
  if (type === RECORD_MARKER) {
    need(0, 18);
    return {
      type: 'marker',
      index: view.getFloat64(1, true),
      term: view.getFloat64(9, true),
      logKept: view.getUint8(17) === 1,
    };
  }
  if (type !== RECORD_BATCH) throw new MalformedRecord(`unknown record type ${type}`);
  need(0, 2);
  let at = 2;
  let hardState: HardState | null = null;
  if (view.getUint8(1) === 1) {
    need(at, 18);
    const voteLength = view.getUint16(at + 16, true);
    let votedFor = null;
    if (voteLength !== NO_VOTE) {
      need(at + 18, voteLength);
      votedFor = nodeId(decoder.decode(payload.subarray(at + 18, at + 18 + voteLength)));
    }
    hardState = {
      term: term(view.getFloat64(at, true)),
      commitIndex: index(view.getFloat64(at + 8, true)),
      votedFor,
    };
    at += 18 + (voteLength === NO_VOTE ? 0 : voteLength);
  }
  need(at, 12);
  const firstIndex = view.getFloat64(at, true);
  const count = view.getUint32(at + 8, true);
  at += 12;
  if (count * ENTRY_HEADER_BYTES > payload.byteLength - at)
    throw new MalformedRecord('entry count too large');
  const terms = new Float64Array(count);
  const offsets = new Uint32Array(count);
  const sizes = new Uint32Array(count);
  for (let k = 0; k < count; k++) {
    need(at, ENTRY_HEADER_BYTES);
    const size = ENTRY_HEADER_BYTES + view.getUint32(at + 9, true);
    need(at, size);
    terms[k] = view.getFloat64(at, true);
    offsets[k] = at;
    sizes[k] = size;
    at += size;
  }
  if (at !== payload.byteLength) throw new MalformedRecord('trailing bytes after the last entry');
  return { type: 'batch', hardState, firstIndex, count, terms, offsets, sizes };
}

/** Decodes one entry from its bytes (header and data); `data` is a view, not a copy. */
export function decodeEntry(bytes: Uint8Array, entryIndex: number): Entry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, ENTRY_HEADER_BYTES);
  const type: EntryType = view.getUint8(8) === 1 ? 'config' : 'normal';
  const length = view.getUint32(9, true);
  return {
    index: index(entryIndex),
    term: term(view.getFloat64(0, true)),
    type,
    data: bytes.subarray(ENTRY_HEADER_BYTES, ENTRY_HEADER_BYTES + length),
  };
}
