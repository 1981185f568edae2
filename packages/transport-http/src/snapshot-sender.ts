import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { InstallSnapshot, TransportHandler } from '@raftkit/core';
import type { PeerSender, SenderContext } from './peer-sender.ts';
import { encodeChunk } from './snapshot-chunk.ts';

/**
 * Streams one snapshot to one peer as a sequence of chunk requests (format in
 * snapshot-chunk.ts), one at a time, hashing as it goes; the last chunk carries the size and the
 * SHA-256 so the receiver can verify the whole before it commits. Nothing beyond one chunk is
 * held in memory here. Resolves with whether the peer accepted the snapshot; never throws.
 */
export async function sendSnapshot(
  context: SenderContext,
  peer: PeerSender,
  groupId: string,
  message: InstallSnapshot,
  handler: TransportHandler | undefined,
): Promise<boolean> {
  const { options, poster, metrics } = context;
  const { meta } = message.snapshot;
  const chunkBytes = options.snapshotChunkBytes;
  // Without a streaming source, the data the core already holds in memory is sliced into views.
  const source = handler?.readSnapshot?.(meta, chunkBytes) ?? [message.snapshot.data];
  const transfer = bytesToHex(crypto.getRandomValues(new Uint8Array(12)));
  const hash = sha256.create();
  let offset = 0;

  const post = async (data: Uint8Array, last: boolean): Promise<void> => {
    const body = encodeChunk({
      from: options.id,
      to: peer.id,
      groupId,
      transfer,
      offset,
      data,
      offer: offset === 0 ? { term: message.term, meta } : null,
      end: last ? { size: offset + data.length, sha256: hash.digest() } : null,
    });
    const outcome = await poster.post(peer.url, 'snapshot', body, peer.signal);
    if (outcome !== 'ok') {
      if (outcome !== 'aborted') metrics.sendErrors[outcome]++;
      throw new Error(`snapshot chunk at offset ${offset}: ${outcome}`);
    }
    offset += data.length;
    metrics.snapshots.bytesSent += data.length;
  };

  try {
    // One chunk of look-ahead: only after the source ends is the last chunk known.
    let pending: Uint8Array | null = null;
    for await (const piece of rechunk(source, chunkBytes)) {
      if (pending !== null) await post(pending, false);
      hash.update(piece);
      pending = piece;
    }
    await post(pending ?? new Uint8Array(0), true);
    metrics.snapshots.sent++;
    return true;
  } catch (error) {
    metrics.snapshots.failed++;
    options.logger.warn('snapshot transfer failed', {
      to: peer.id,
      groupId,
      index: meta.index,
      error: String(error),
    });
    return false;
  }
}

/** Splits pieces into views of at most `size` bytes and skips empty ones. */
async function* rechunk(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
): AsyncIterable<Uint8Array> {
  for await (const piece of source) {
    for (let at = 0; at < piece.length; at += size) yield piece.subarray(at, at + size);
  }
}
