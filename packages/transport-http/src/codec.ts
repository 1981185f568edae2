// The `cbor-x/decode` entry is cbor-x without its native string extractor (cbor-extract): that
// addon misdecodes strings longer than 64 bytes under Bun, and the pure JS path behaves the same
// on every runtime.
import { Decoder, Encoder } from 'cbor-x/decode';

/**
 * One CBOR dialect for the whole wire: plain maps with text keys and plain byte strings, no
 * cbor-x records or typed-array tags, so any CBOR implementation can speak it and a field name
 * on the wire is the field name in the core's types.
 */
const options = { useRecords: false, mapsAsObjects: true, tagUint8Array: false } as const;
const encoder = new Encoder(options);
// Byte strings are copied out of what they arrived in: a follower keeps the entries it receives
// in its log until the next snapshot, and a view would keep the whole network chunk under each
// one alive (Deno's followers grew to 600 MB under 250,000 writes, Node's to 160 MB).
const decoder = new Decoder({ ...options, copyBuffers: true });

/**
 * Encodes one value. The result is a view into cbor-x's working buffer that stays valid (cbor-x
 * moves on past it), so it can be kept and framed later without a copy.
 */
export const encodeCbor = (value: unknown): Uint8Array<ArrayBuffer> =>
  // cbor-x allocates plain (never shared) ArrayBuffers; its typings just do not say so.
  encoder.encode(value) as Uint8Array<ArrayBuffer>;

/** Decodes exactly one value spanning all of `bytes`; throws on malformed or trailing input. Byte strings come back as copies. */
export const decodeCbor = (bytes: Uint8Array): unknown => decoder.decode(bytes);

const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;

/** Bytes a CBOR head takes for a length of `n` (RFC 8949 §3). */
export function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function writeHead(out: Uint8Array, at: number, major: number, n: number): number {
  const type = major << 5;
  if (n < 24) {
    out[at] = type | n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = type | 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = type | 25;
    out[at + 1] = n >>> 8;
    out[at + 2] = n & 0xff;
    return at + 3;
  }
  out[at] = type | 26;
  new DataView(out.buffer, out.byteOffset + at + 1, 4).setUint32(0, n);
  return at + 5;
}

/**
 * Builds CBOR from parts that are already encoded, so a batch of messages encoded one by one as
 * they were queued is framed with a single copy of each.
 */
export class CborWriter {
  private readonly out: Uint8Array<ArrayBuffer>;
  private at = 0;

  constructor(size: number) {
    this.out = new Uint8Array(size);
  }

  array(n: number): this {
    this.at = writeHead(this.out, this.at, MAJOR_ARRAY, n);
    return this;
  }

  map(n: number): this {
    this.at = writeHead(this.out, this.at, MAJOR_MAP, n);
    return this;
  }

  raw(encoded: Uint8Array): this {
    this.out.set(encoded, this.at);
    this.at += encoded.length;
    return this;
  }

  /** The bytes written; the size given to the constructor must have been exact or an upper bound. */
  finish(): Uint8Array<ArrayBuffer> {
    return this.out.subarray(0, this.at);
  }
}
