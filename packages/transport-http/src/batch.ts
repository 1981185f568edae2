import type { Message, NodeId } from '@raftkit/core';
import { parseArray, parseIdentifier, parseMessage, parseRecord, RaftError } from '@raftkit/core';
import { CborWriter, encodeCbor, headLength } from './codec.ts';
import { WIRE_VERSION } from './wire.ts';

/**
 * A batch is the body of one request to one peer: every message queued for that peer since the
 * last request, across groups.
 *
 *     { "v": 1, "from": NodeId, "to": NodeId, "groups": [[groupId, [message, ...]], ...] }
 *
 * Messages are CBOR maps with the field names of the core's types. `from` and `to` of every
 * message must equal the batch's.
 */

/** A message encoded when it was queued, so its size is known exactly before the batch is built. */
export interface QueuedMessage {
  readonly groupId: string;
  readonly encoded: Uint8Array;
}

export interface GroupMessages {
  readonly groupId: string;
  readonly messages: readonly Message[];
}

export interface Batch {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly groups: readonly GroupMessages[];
}

const KEY_V = encodeCbor('v').slice();
const VERSION = encodeCbor(WIRE_VERSION).slice();
const KEY_FROM = encodeCbor('from').slice();
const KEY_TO = encodeCbor('to').slice();
const KEY_GROUPS = encodeCbor('groups').slice();

/** Upper bound of the framing one more group adds: a 2-array head, the id, the message array head. */
export const groupFramingBound = (groupId: string): number => 1 + 3 + 3 * groupId.length + 5;

/** Upper bound of the fixed part of a batch: map head, four keys, version, both ids, groups head. */
export const batchFramingBound = (from: string, to: string): number => 32 + 3 * (from.length + to.length);

export function encodeBatch(
  from: string,
  to: string,
  items: readonly QueuedMessage[],
): Uint8Array<ArrayBuffer> {
  const groups = new Map<string, Uint8Array[]>();
  let size = 0;
  for (const item of items) {
    let list = groups.get(item.groupId);
    if (list === undefined) {
      list = [];
      groups.set(item.groupId, list);
    }
    list.push(item.encoded);
    size += item.encoded.length;
  }
  const fromBytes = encodeCbor(from);
  const toBytes = encodeCbor(to);
  const groupIds = new Map([...groups.keys()].map((id) => [id, encodeCbor(id)]));
  size += 1 + KEY_V.length + VERSION.length + KEY_FROM.length + fromBytes.length + KEY_TO.length;
  size += toBytes.length + KEY_GROUPS.length + headLength(groups.size);
  for (const [id, list] of groups) size += 1 + groupIds.get(id)!.length + headLength(list.length);

  const w = new CborWriter(size).map(4);
  w.raw(KEY_V).raw(VERSION).raw(KEY_FROM).raw(fromBytes).raw(KEY_TO).raw(toBytes).raw(KEY_GROUPS);
  w.array(groups.size);
  for (const [id, list] of groups) {
    w.array(2).raw(groupIds.get(id)!).array(list.length);
    for (const encoded of list) w.raw(encoded);
  }
  return w.finish();
}

/** Validates a decoded batch; throws `RaftError` `InvalidMessage` naming the first bad field. */
export function parseBatch(value: unknown): Batch {
  const b = parseRecord(value, 'batch');
  if (b.v !== WIRE_VERSION) throw new RaftError('InvalidMessage', `batch.v must be ${WIRE_VERSION}`);
  const from = parseIdentifier(b.from, 'batch.from') as NodeId;
  const to = parseIdentifier(b.to, 'batch.to') as NodeId;
  const groups = parseArray(b.groups, 'batch.groups').map((value, g): GroupMessages => {
    const pair = parseArray(value, `batch.groups[${g}]`);
    if (pair.length !== 2)
      throw new RaftError('InvalidMessage', `batch.groups[${g}] must be [groupId, messages]`);
    const groupId = parseIdentifier(pair[0], `batch.groups[${g}][0]`);
    const messages = parseArray(pair[1], `batch.groups[${g}][1]`).map((m, i) => {
      const path = `batch.groups[${g}][1][${i}]`;
      const message = parseMessage(m, path);
      // Snapshots are streamed on their own route, never held whole in a batch.
      if (message.type === 'InstallSnapshot') {
        throw new RaftError('InvalidMessage', `${path}: InstallSnapshot travels on the snapshot route`);
      }
      if (message.from !== from || message.to !== to) {
        throw new RaftError('InvalidMessage', `${path}: from and to must match the batch's`);
      }
      return message;
    });
    return { groupId, messages };
  });
  return { from, to, groups };
}
