import type { Digest } from './digest.ts';

/**
 * The simulator stores the application's snapshot bytes behind a small header: the applied index
 * and the digest of the prefix the state was built from. A node restoring the snapshot, maybe
 * sent by another node, lets the checker verify that it captures exactly the committed prefix.
 */
const headerBytes = 16;

interface SnapshotEnvelope {
  readonly index: number;
  readonly digest: Digest;
  readonly state: Uint8Array;
}

export function wrapSnapshot(envelope: SnapshotEnvelope): Uint8Array {
  const out = new Uint8Array(headerBytes + envelope.state.length);
  const view = new DataView(out.buffer);
  view.setFloat64(0, envelope.index);
  view.setFloat64(8, envelope.digest);
  out.set(envelope.state, headerBytes);
  return out;
}

/** Empty data is the bootstrap snapshot at index 0: nothing applied, no state. */
export function unwrapSnapshot(data: Uint8Array): SnapshotEnvelope | null {
  if (data.length === 0) return null;
  if (data.length < headerBytes) throw new RangeError(`snapshot data of ${data.length} bytes has no header`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { index: view.getFloat64(0), digest: view.getFloat64(8), state: data.subarray(headerBytes) };
}
