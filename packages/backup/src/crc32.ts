/**
 * CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) as gzip's trailer uses it. fflate checks
 * no trailer when it decompresses, so the reader recomputes it: without it a flipped bit in the
 * trailer, or a trailer cut short, would pass unnoticed.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Continues a CRC over `bytes`; start from 0. */
export function crc32(crc: number, bytes: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
