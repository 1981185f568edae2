import { type Entry, type Index, type Membership, type NodeId, StorageError, type Term } from '@raftkit/core';
import type { Row, SqlValue } from './driver/driver.ts';
import { ENTRY_TYPE_CODES } from './schema.ts';

/** Conversions between stored rows and the core's types, in one place. */

/** A view, never a copy: bun:sqlite and better-sqlite3 hand out Buffers, the core wants plain Uint8Arrays. */
export function bytes(value: SqlValue | undefined): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`expected a BLOB, got ${typeof value}`);
  return value.constructor === Uint8Array
    ? value
    : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function entryFromRow(row: Row): Entry {
  return {
    index: Number(row.idx) as Index,
    term: Number(row.term) as Term,
    type: row.type === ENTRY_TYPE_CODES.config ? 'config' : 'normal',
    data: bytes(row.data),
  };
}

export const entryTypeCode = (entry: Entry): number => ENTRY_TYPE_CODES[entry.type];

export const encodeMembership = (membership: Membership): string =>
  JSON.stringify({
    voters: membership.voters,
    votersOutgoing: membership.votersOutgoing,
    learners: membership.learners,
  });

export function decodeMembership(text: SqlValue | undefined, file: string): Membership {
  try {
    const parsed = JSON.parse(String(text)) as Record<string, unknown>;
    const ids = (key: string): NodeId[] => {
      const value = parsed[key];
      if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) throw new TypeError(key);
      return value as NodeId[];
    };
    return { voters: ids('voters'), votersOutgoing: ids('votersOutgoing'), learners: ids('learners') };
  } catch (cause) {
    throw new StorageError('Corrupt', `${file}: a snapshot's membership is not valid`, { file, cause });
  }
}
