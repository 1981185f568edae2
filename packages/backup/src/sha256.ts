import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/**
 * SHA-256 for the manifest, by @noble/hashes (the project's chosen hash library: audited, the
 * same code on every runtime and in browsers). It is the slowest stage of a verify, about a
 * third of `node:crypto`'s speed or less; the package README's throughput section gives the figures.
 */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** The digest as lowercase hex, as the manifest records it. */
  hex(): string;
}

export function sha256(): Sha256 {
  const hash = nobleSha256.create();
  return {
    update(bytes) {
      hash.update(bytes);
    },
    hex: () => bytesToHex(hash.digest()),
  };
}

/** The SHA-256 of `bytes` as lowercase hex. */
export const sha256Hex = (bytes: Uint8Array): string => bytesToHex(nobleSha256(bytes));
