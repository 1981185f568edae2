// crc-32 ships CommonJS without an exports map, like the crc32c module storage-fs takes from it.
// Its slice-by-16 tables run several times faster than a byte-at-a-time loop.
import crc32Module from 'crc-32/crc32.js';

/**
 * CRC-32 (IEEE 802.3) as gzip's trailer uses it, continuing from `crc` (the CRC of the bytes
 * before; 0 to start), as an unsigned int. fflate checks no trailer when it decompresses, so the
 * reader recomputes it: without it a flipped bit in the trailer, or one cut short, would pass.
 */
export function crc32(crc: number, bytes: Uint8Array): number {
  return crc32Module.buf(bytes, crc) >>> 0;
}
