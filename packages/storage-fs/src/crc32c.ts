// crc-32 ships CommonJS without an exports map; its crc32c module computes the Castagnoli
// polynomial (CRC32C), whose error detection on storage-sized records is better than CRC-32's.
import crc32cModule from 'crc-32/crc32c.js';

/** CRC32C of `bytes`, continuing from `seed` (the CRC of the bytes before), as an unsigned int. */
export function crc32c(bytes: Uint8Array, seed = 0): number {
  return crc32cModule.buf(bytes, seed) >>> 0;
}
