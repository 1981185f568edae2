import type { NodeId, SnapshotMeta, Term } from '@raftkit/core';
import {
  parseBytes,
  parseIdentifier,
  parseNatural,
  parseRecord,
  parseSnapshotMeta,
  RaftError,
} from '@raftkit/core';
import { encodeCbor } from './codec.ts';
import { WIRE_VERSION } from './wire.ts';

/**
 * A snapshot travels as a sequence of chunk requests, each an ordinary authenticated request
 * under the body limit, so a snapshot of any size streams with bounded memory on both sides:
 *
 *     { "v": 1, "from": NodeId, "to": NodeId, "group": string, "transfer": string,
 *       "offset": uint, "data": bytes,
 *       "offer": { "term": uint, "meta": SnapshotMeta } | null,   // on the first chunk only
 *       "end": { "size": uint, "sha256": parseBytes(32) } | null }     // on the last chunk only
 *
 * `transfer` is a random id naming one attempt; `offset` is where `data` starts in the snapshot.
 * The first chunk may also be the last; an empty snapshot is one chunk with empty data.
 */
export interface SnapshotChunk {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly groupId: string;
  readonly transfer: string;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly offer: { readonly term: Term; readonly meta: SnapshotMeta } | null;
  readonly end: { readonly size: number; readonly sha256: Uint8Array } | null;
}

export function encodeChunk(chunk: SnapshotChunk): Uint8Array<ArrayBuffer> {
  return encodeCbor({
    v: WIRE_VERSION,
    from: chunk.from,
    to: chunk.to,
    group: chunk.groupId,
    transfer: chunk.transfer,
    offset: chunk.offset,
    data: chunk.data,
    offer: chunk.offer,
    end: chunk.end,
  });
}

const SHA256_BYTES = 32;

/** Validates a decoded chunk; throws `RaftError` `InvalidMessage` naming the first bad field. */
export function parseChunk(value: unknown): SnapshotChunk {
  const c = parseRecord(value, 'chunk');
  if (c.v !== WIRE_VERSION) throw new RaftError('InvalidMessage', `chunk.v must be ${WIRE_VERSION}`);
  const offset = parseNatural(c.offset, 'chunk.offset');
  let offer: SnapshotChunk['offer'] = null;
  if (c.offer !== null) {
    const o = parseRecord(c.offer, 'chunk.offer');
    offer = {
      term: parseNatural(o.term, 'chunk.offer.term') as Term,
      meta: parseSnapshotMeta(o.meta, 'chunk.offer.meta'),
    };
  }
  if ((offer === null) !== (offset !== 0)) {
    throw new RaftError('InvalidMessage', 'chunk.offer must be present exactly on the chunk at offset 0');
  }
  let end: SnapshotChunk['end'] = null;
  if (c.end !== null) {
    const e = parseRecord(c.end, 'chunk.end');
    const sha256 = parseBytes(e.sha256, 'chunk.end.sha256');
    if (sha256.length !== SHA256_BYTES)
      throw new RaftError('InvalidMessage', 'chunk.end.sha256 must be 32 bytes');
    end = { size: parseNatural(e.size, 'chunk.end.size'), sha256 };
  }
  return {
    from: parseIdentifier(c.from, 'chunk.from') as NodeId,
    to: parseIdentifier(c.to, 'chunk.to') as NodeId,
    groupId: parseIdentifier(c.group, 'chunk.group'),
    transfer: parseIdentifier(c.transfer, 'chunk.transfer'),
    offset,
    data: parseBytes(c.data, 'chunk.data'),
    offer,
    end,
  };
}
