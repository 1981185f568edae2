import type { Entry } from '@raftkit/core';
import { ENTRY_TYPE_CODES } from './schema.ts';

/**
 * CRC-32 (IEEE 802.3, reflected) per entry. SQLite checksums its WAL frames but not the pages of
 * the database file, so without this a bit flipped in an entry's payload at rest would be read
 * back, and applied, as if it were the command the cluster agreed on.
 */
const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32(data: Uint8Array, previous = 0): number {
  let c = ~previous;
  for (let i = 0; i < data.byteLength; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Reused by every call: checksums are computed synchronously, one at a time. */
const header = new DataView(new ArrayBuffer(17));
const headerBytes = new Uint8Array(header.buffer);

/** Covers the payload and the fields beside it, so a row whose index or term changed fails too. */
export function entryChecksum(entry: Entry): number {
  header.setFloat64(0, entry.index);
  header.setFloat64(8, entry.term);
  header.setUint8(16, ENTRY_TYPE_CODES[entry.type]);
  return crc32(headerBytes, crc32(entry.data));
}
