import type { Membership, SnapshotMeta } from '@raftkit/core';
import { index, nodeId, term } from '@raftkit/core';
import { crc32c } from './crc32c.ts';
import type { FileOps, FsOps } from './fs-ops.ts';

/**
 * The snapshot file: `snapshot` holds the one in force; a new one is written to
 * `snapshot.<n>.tmp`, fsynced and renamed over it, so a crash mid-write leaves the old one.
 *
 *   header   magic "RKSN" u32 | version u16 | reserved u16 | metaLength u32
 *            | meta: index f64 | term f64 | membership as JSON | crc32c(everything before) u32
 *   data     the application's bytes
 *   trailer  dataLength f64 | crc32c(data) u32 | crc32c(previous 12 bytes) u32
 *
 * The length and checksum trail the data so a snapshot can be streamed in without knowing its
 * size up front. Opening checks header and trailer (cheap); the data checksum is verified by
 * every read and by the offline check.
 */
export const SNAPSHOT_FILE = 'snapshot';
export const SNAPSHOT_VERSION = 1;
const MAGIC = 0x4e534b52; // "RKSN" read as little-endian u32
const FIXED_HEADER_BYTES = 12;
const TRAILER_BYTES = 16;
const MAX_META_BYTES = 1 << 24;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const snapshotTempName = (n: number): string => `snapshot.${n}.tmp`;
export const isSnapshotTempName = (name: string): boolean => /^snapshot\.\d+\.tmp$/.test(name);

export function encodeSnapshotHeader(meta: SnapshotMeta): Uint8Array {
  const membership = encoder.encode(
    JSON.stringify({
      voters: meta.membership.voters,
      votersOutgoing: meta.membership.votersOutgoing,
      learners: meta.membership.learners,
    }),
  );
  const metaLength = 16 + membership.byteLength;
  const bytes = new Uint8Array(FIXED_HEADER_BYTES + metaLength + 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, SNAPSHOT_VERSION, true);
  view.setUint32(8, metaLength, true);
  view.setFloat64(12, meta.index, true);
  view.setFloat64(20, meta.term, true);
  bytes.set(membership, 28);
  view.setUint32(bytes.byteLength - 4, crc32c(bytes.subarray(0, bytes.byteLength - 4)), true);
  return bytes;
}

export function encodeSnapshotTrailer(dataLength: number, dataCrc: number): Uint8Array {
  const bytes = new Uint8Array(TRAILER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, dataLength, true);
  view.setUint32(8, dataCrc, true);
  view.setUint32(12, crc32c(bytes.subarray(0, 12)), true);
  return bytes;
}

/** What opening learns from a snapshot file without reading its data. */
export interface SnapshotFileInfo {
  readonly meta: SnapshotMeta;
  readonly dataOffset: number;
  readonly dataLength: number;
  readonly dataCrc: number;
  /** Whole file, header to trailer. */
  readonly fileBytes: number;
}

export class SnapshotFormatError extends Error {
  constructor(
    readonly kind: 'Corrupt' | 'UnsupportedVersion',
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

async function readExactly(file: FileOps, length: number, position: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  const got = await file.read(bytes, position);
  if (got !== length) throw new SnapshotFormatError('Corrupt', 'snapshot file is truncated', position + got);
  return bytes;
}

function decodeMembership(bytes: Uint8Array): Membership {
  const raw: unknown = JSON.parse(decoder.decode(bytes));
  const ids = (value: unknown): value is string[] =>
    Array.isArray(value) && value.every((id) => typeof id === 'string');
  if (typeof raw !== 'object' || raw === null) throw new Error('membership is not an object');
  const { voters, votersOutgoing, learners } = raw as Record<string, unknown>;
  if (!ids(voters) || !ids(votersOutgoing) || !ids(learners)) throw new Error('membership lists malformed');
  return {
    voters: voters.map(nodeId),
    votersOutgoing: votersOutgoing.map(nodeId),
    learners: learners.map(nodeId),
  };
}

/** Reads and checks header and trailer. Throws `SnapshotFormatError` naming the offset. */
export async function readSnapshotInfo(file: FileOps): Promise<SnapshotFileInfo> {
  const fileBytes = await file.size();
  const fixed = await readExactly(file, FIXED_HEADER_BYTES, 0);
  const view = new DataView(fixed.buffer);
  if (view.getUint32(0, true) !== MAGIC)
    throw new SnapshotFormatError('Corrupt', 'not a raftkit snapshot (bad magic)', 0);
  const version = view.getUint16(4, true);
  const metaLength = view.getUint32(8, true);
  if (metaLength < 16 || metaLength > MAX_META_BYTES || FIXED_HEADER_BYTES + metaLength + 4 > fileBytes) {
    throw new SnapshotFormatError('Corrupt', `snapshot metadata length ${metaLength} is impossible`, 8);
  }
  const rest = await readExactly(file, metaLength + 4, FIXED_HEADER_BYTES);
  const header = new Uint8Array(FIXED_HEADER_BYTES + metaLength);
  header.set(fixed);
  header.set(rest.subarray(0, metaLength), FIXED_HEADER_BYTES);
  const stored = new DataView(rest.buffer).getUint32(metaLength, true);
  if (stored !== crc32c(header)) {
    throw new SnapshotFormatError(
      'Corrupt',
      'snapshot header checksum mismatch',
      FIXED_HEADER_BYTES + metaLength,
    );
  }
  if (version !== SNAPSHOT_VERSION) {
    throw new SnapshotFormatError(
      'UnsupportedVersion',
      `snapshot format version ${version}, this build reads version ${SNAPSHOT_VERSION}`,
      4,
    );
  }
  const metaView = new DataView(rest.buffer, 0, metaLength);
  let membership: Membership;
  try {
    membership = decodeMembership(rest.subarray(16, metaLength));
  } catch (e) {
    throw new SnapshotFormatError('Corrupt', `snapshot membership unreadable: ${(e as Error).message}`, 28);
  }
  const meta: SnapshotMeta = {
    index: index(metaView.getFloat64(0, true)),
    term: term(metaView.getFloat64(8, true)),
    membership,
  };
  const dataOffset = FIXED_HEADER_BYTES + metaLength + 4;
  if (fileBytes < dataOffset + TRAILER_BYTES) {
    throw new SnapshotFormatError('Corrupt', 'snapshot file is truncated (no trailer)', fileBytes);
  }
  const trailerAt = fileBytes - TRAILER_BYTES;
  const trailer = await readExactly(file, TRAILER_BYTES, trailerAt);
  const trailerView = new DataView(trailer.buffer);
  if (trailerView.getUint32(12, true) !== crc32c(trailer.subarray(0, 12))) {
    throw new SnapshotFormatError('Corrupt', 'snapshot trailer checksum mismatch', trailerAt);
  }
  const dataLength = trailerView.getFloat64(0, true);
  if (dataLength !== trailerAt - dataOffset) {
    throw new SnapshotFormatError('Corrupt', 'snapshot data length disagrees with the file size', trailerAt);
  }
  return { meta, dataOffset, dataLength, dataCrc: trailerView.getUint32(8, true), fileBytes };
}

/**
 * Streams the data of an open snapshot file in chunks of at most `chunkBytes`, verifying its
 * checksum; a mismatch throws after the last chunk (the caller must not trust data before that).
 */
export async function* readSnapshotData(
  file: FileOps,
  info: SnapshotFileInfo,
  chunkBytes: number,
): AsyncGenerator<Uint8Array> {
  let crc = 0;
  for (let done = 0; done < info.dataLength; ) {
    const length = Math.min(chunkBytes, info.dataLength - done);
    const chunk = await readExactly(file, length, info.dataOffset + done);
    crc = crc32c(chunk, crc);
    done += length;
    yield chunk;
  }
  if (crc !== info.dataCrc) {
    throw new SnapshotFormatError('Corrupt', 'snapshot data checksum mismatch', info.dataOffset);
  }
}

/** Writes a snapshot file from chunks; `finish()` seals and fsyncs it (the caller renames it). */
export class SnapshotFileWriter {
  private position: number;
  private dataLength = 0;
  private crc = 0;
  private closed = false;

  private constructor(
    private readonly file: FileOps,
    private readonly meta: SnapshotMeta,
    private readonly headerBytes: number,
  ) {
    this.position = headerBytes;
  }

  static async create(fs: FsOps, path: string, meta: SnapshotMeta): Promise<SnapshotFileWriter> {
    const header = encodeSnapshotHeader(meta);
    const file = await fs.open(path, 'w+');
    try {
      await file.write(header, 0);
    } catch (e) {
      await file.close().catch(() => {});
      throw e;
    }
    return new SnapshotFileWriter(file, meta, header.byteLength);
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.file.write(chunk, this.position);
    this.position += chunk.byteLength;
    this.dataLength += chunk.byteLength;
    this.crc = crc32c(chunk, this.crc);
  }

  /** Writes the trailer, fsyncs and closes; returns what a reader of the finished file needs. */
  async finish(): Promise<SnapshotFileInfo> {
    try {
      await this.file.write(encodeSnapshotTrailer(this.dataLength, this.crc), this.position);
      await this.file.sync();
    } finally {
      await this.close();
    }
    return {
      meta: this.meta,
      dataOffset: this.headerBytes,
      dataLength: this.dataLength,
      dataCrc: this.crc,
      fileBytes: this.position + TRAILER_BYTES,
    };
  }

  /** Idempotent: a failed write, an abort and the store's close may all get here. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }
}
