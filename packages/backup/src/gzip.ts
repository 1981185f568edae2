import { Deflate, type DeflateOptions, Gunzip } from 'fflate';
import { concatBytes } from './bytes.ts';
import { crc32 } from './crc32.ts';
import { BackupError } from './errors.ts';

/**
 * The gzip layer. Writing frames fflate's raw streaming `Deflate` in a fixed header (no name,
 * mtime 0, no flags) and a trailer of our own, so the reader can demand those exact ten bytes: a
 * flipped bit in the header is then caught like one anywhere else. (fflate's `Gzip` would do the
 * framing too, but its CRC-32 runs a byte at a time, a tenth of the export's time.) Reading uses
 * fflate's streaming `Gunzip` and adds what it leaves out: the trailer's CRC-32 and length, a
 * limit on the decompressed size, and refusing a second member or any byte after the first.
 */
const HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3);
const TRAILER_BYTES = 8;
/**
 * Deflate level 3: on KV-like and text state fflate writes archives about 5% larger than at
 * level 6 (gzip's default) but 1.1-1.7× faster on Node (4× on Bun), and an export runs on a live
 * node beside its Raft work. Readers accept any level; the header does not record it.
 */
export const GZIP_LEVEL: DeflateOptions['level'] & number = 3;
/**
 * Input is fed to the inflater in pieces this small so one push can produce at most ~1032× as
 * much (deflate's best ratio): about 16 MiB, whatever chunk size the source delivers.
 */
const PIECE_BYTES = 16 * 1024;

export async function* gzipChunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  const deflate = new Deflate({ level: GZIP_LEVEL }, (chunk) => {
    out.push(chunk);
  });
  let crc = 0;
  let size = 0;
  yield HEADER.slice();
  for await (const chunk of source) {
    crc = crc32(crc, chunk);
    size += chunk.length;
    deflate.push(chunk, false);
    yield* out.splice(0);
  }
  deflate.push(new Uint8Array(0), true);
  yield* out.splice(0);
  yield trailer(crc, size);
}

/** gzip's trailer: the CRC-32 and the length modulo 2^32 of the uncompressed data, little-endian. */
function trailer(crc: number, size: number): Uint8Array {
  const bytes = new Uint8Array(TRAILER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, crc, true);
  view.setUint32(4, size >>> 0, true);
  return bytes;
}

export interface GunzipOptions {
  /** Refuse (`TooLarge`) once the decompressed bytes would pass this. */
  readonly maxBytes: number;
}

export async function* gunzipChunks(
  source: AsyncIterable<Uint8Array>,
  options: GunzipOptions,
): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let secondMember = false;
  const gunzip = new Gunzip((chunk) => {
    out.push(chunk);
  });
  gunzip.onmember = () => {
    secondMember = true;
  };
  let crc = 0;
  let produced = 0;
  let header: Uint8Array = new Uint8Array(0);
  // The input last pushed, at least PIECE_BYTES of it, enough to find where the member's trailer
  // sits when something follows it (the inflater fails within a few bytes after the trailer).
  // Kept as the pieces themselves and joined only when looked at: copying every piece into a
  // window on the way through cost as much as the CRC.
  const recent = new RecentBytes(PIECE_BYTES);
  const drain = function* (): Generator<Uint8Array> {
    if (secondMember) throw new BackupError('TrailingData', 'a second gzip member follows the backup');
    for (const chunk of out.splice(0)) {
      produced += chunk.length;
      if (produced > options.maxBytes) {
        throw new BackupError(
          'TooLarge',
          `the archive decompresses past the limit of ${options.maxBytes} bytes`,
        );
      }
      crc = crc32(crc, chunk);
      yield chunk;
    }
  };
  const push = (piece: Uint8Array, final: boolean): void => {
    try {
      gunzip.push(piece, final);
    } catch (cause) {
      // A member that ended well before the failure means the bytes after it are the problem.
      if (trailerAt(recent.bytes(), crc, produced + pendingBytes(out), out) >= 0) {
        throw new BackupError('TrailingData', 'bytes follow the end of the gzip stream', { cause });
      }
      const message = cause instanceof Error ? cause.message : String(cause);
      if (final && /unexpected EOF/i.test(message)) {
        throw new BackupError('Truncated', 'the gzip stream ends before the compressed data does', {
          cause,
        });
      }
      throw new BackupError('Gzip', `corrupt gzip data: ${message}`, { cause });
    }
  };

  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += PIECE_BYTES) {
      const piece = chunk.subarray(at, at + PIECE_BYTES);
      if (header.length < HEADER.length) {
        const take = Math.min(HEADER.length - header.length, piece.length);
        header = concatBytes([header, piece.subarray(0, take)]);
        checkHeader(header);
      }
      recent.push(piece);
      push(piece, false);
      yield* drain();
    }
  }
  if (header.length < HEADER.length) throw new BackupError('Truncated', 'the gzip header is incomplete');
  push(new Uint8Array(0), true);
  yield* drain();
  const tail = recent.bytes();
  const at = trailerAt(tail, crc, produced, []);
  if (at === tail.length - TRAILER_BYTES) return;
  if (at >= 0) throw new BackupError('TrailingData', 'bytes follow the end of the gzip stream');
  throw new BackupError(
    'Gzip',
    'the gzip trailer (CRC-32 and length) does not match the data: the file is truncated or corrupt',
  );
}

/** The last `keep` or more bytes pushed, held as the pushed arrays (views, not copies). */
class RecentBytes {
  private pieces: Uint8Array[] = [];
  private held = 0;
  constructor(private readonly keep: number) {}

  push(piece: Uint8Array): void {
    this.pieces.push(piece);
    this.held += piece.length;
    while (this.held - this.pieces[0]!.length >= this.keep) this.held -= this.pieces.shift()!.length;
  }

  bytes(): Uint8Array {
    return concatBytes(this.pieces);
  }
}

function checkHeader(seen: Uint8Array): void {
  for (let i = 0; i < seen.length; i++) {
    if (seen[i] !== HEADER[i]) {
      throw new BackupError(
        'Gzip',
        i < 3
          ? 'not a gzip stream'
          : `gzip header byte ${i} is ${seen[i]}, not ${HEADER[i]}: not written by raftkit backup, or corrupt`,
      );
    }
  }
}

const pendingBytes = (chunks: readonly Uint8Array[]): number => chunks.reduce((n, c) => n + c.length, 0);

/**
 * Where in `window` (the input last seen) the trailer for the data so far (`crc` over `produced` bytes, plus any output
 * not yet counted in `crc`) starts, or -1. The trailer can only be found once the data it
 * describes was all produced, so a match means the member had ended.
 */
function trailerAt(
  window: Uint8Array,
  crc: number,
  produced: number,
  uncounted: readonly Uint8Array[],
): number {
  let check = crc;
  for (const chunk of uncounted) check = crc32(check, chunk);
  const expected = trailer(check, produced);
  outer: for (let at = window.length - TRAILER_BYTES; at >= 0; at--) {
    for (let k = 0; k < TRAILER_BYTES; k++) if (window[at + k] !== expected[k]) continue outer;
    return at;
  }
  return -1;
}
