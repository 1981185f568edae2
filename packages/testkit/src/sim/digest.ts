import type { Entry } from '@raftkit/core';

/**
 * A running fingerprint of an applied log prefix: `extend(d, e)` folds entry `e` into the digest
 * `d` of everything before it. Two nodes with equal digests at an index applied the same entries
 * (up to a 53-bit hash collision), which lets the checker compare whole prefixes, and snapshots
 * carry the digest of the prefix they capture.
 */
export type Digest = number;

export const emptyDigest: Digest = 0;

export function extendDigest(digest: Digest, entry: Entry): Digest {
  let h1 = (digest / 2 ** 21) | 0;
  let h2 = (digest % 2 ** 21) | 0;
  const step = (x: number) => {
    h1 = Math.imul(h1 ^ x, 0x01000193);
    h2 = Math.imul(h2 ^ x, 0x5bd1e995) ^ (h2 >>> 15);
  };
  step(entry.index);
  step(entry.term);
  step(entry.type === 'normal' ? 1 : 2);
  step(entry.data.length);
  for (const byte of entry.data) step(byte);
  return (h1 >>> 0) * 2 ** 21 + ((h2 >>> 0) & 0x1fffff);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
