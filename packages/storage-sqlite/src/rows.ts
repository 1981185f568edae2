import { type Entry, type Index, type Membership, type NodeId, StorageError, type Term } from '@raftkit/core';
import { entryChecksum } from './checksum.ts';
import type { Row, SqlValue } from './driver/driver.ts';
import { ENTRY_TYPE_CODES } from './schema.ts';

/** Conversions between stored rows and the core's types, in one place. */

/**
 * A view, never a copy: bun:sqlite and better-sqlite3 hand out Buffers, the core wants plain
 * Uint8Arrays. Anything but a BLOB where we only ever write BLOBs is damage.
 */
export function bytes(value: SqlValue | undefined, file: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new StorageError(
      'Corrupt',
      `${file}: a BLOB column holds ${value === null ? 'NULL' : typeof value}`,
      { file },
    );
  }
  return value.constructor === Uint8Array
    ? value
    : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Rejects `Corrupt`, naming the file and the entry, when the row fails its checksum. */
export function entryFromRow(row: Row, file: string): Entry {
  const entry: Entry = {
    index: Number(row.idx) as Index,
    term: Number(row.term) as Term,
    type: row.type === ENTRY_TYPE_CODES.config ? 'config' : 'normal',
    data: bytes(row.data, file),
  };
  if (entryChecksum(entry) !== Number(row.crc)) {
    throw new StorageError('Corrupt', `${file}: entry ${entry.index} fails its checksum`, { file });
  }
  return entry;
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
