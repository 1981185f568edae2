/**
 * A snapshot's data as the driver stores it: the member URL map beside the user's state, so a
 * node restored from a snapshot (possibly taken on another node) knows where every member
 * listens without replaying the config entries the snapshot replaced.
 *
 * Layout: `RKN1` | u32 big-endian length of the JSON | JSON `{"urls":{id:url}}` | user state.
 */
export interface SnapshotEnvelope {
  readonly urls: Readonly<Record<string, string>>;
  readonly state: Uint8Array;
}

const magic = [0x52, 0x4b, 0x4e, 0x31]; // "RKN1"
const headerBytes = magic.length + 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The stored layout up to the user's state: the magic, the JSON's length and the JSON. */
export function envelopeHeader(urls: Readonly<Record<string, string>>): Uint8Array {
  const json = encoder.encode(JSON.stringify({ urls }));
  const out = new Uint8Array(headerBytes + json.byteLength);
  out.set(magic, 0);
  new DataView(out.buffer).setUint32(magic.length, json.byteLength);
  out.set(json, headerBytes);
  return out;
}

/**
 * Packs the member URLs and the state machine's snapshot into the stored layout above; `unwrapSnapshot`
 * reverses it.
 */
export function wrapSnapshot(envelope: SnapshotEnvelope): Uint8Array {
  const header = envelopeHeader(envelope.urls);
  const out = new Uint8Array(header.byteLength + envelope.state.byteLength);
  out.set(header, 0);
  out.set(envelope.state, header.byteLength);
  return out;
}

/** Throws `SnapshotEnvelopeError` for data the driver did not write: restoring it would corrupt the state. */
export function unwrapSnapshot(data: Uint8Array): SnapshotEnvelope {
  if (data.byteLength < headerBytes || magic.some((b, i) => data[i] !== b)) {
    throw new SnapshotEnvelopeError('snapshot data does not start with the driver envelope header');
  }
  const jsonBytes = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(magic.length);
  if (jsonBytes > data.byteLength - headerBytes) {
    throw new SnapshotEnvelopeError(`snapshot envelope header claims ${jsonBytes} bytes past the end`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data.subarray(headerBytes, headerBytes + jsonBytes)));
  } catch (cause) {
    throw new SnapshotEnvelopeError('snapshot envelope header is not valid JSON', { cause });
  }
  const urls = (parsed as { urls?: unknown } | null)?.urls;
  if (!isUrlMap(urls)) throw new SnapshotEnvelopeError('snapshot envelope has no valid "urls" map');
  // A view, not a copy: snapshots can be large and the state machine only reads it.
  return { urls, state: data.subarray(headerBytes + jsonBytes) };
}

/**
 * Thrown by `unwrapSnapshot` for data that is not a snapshot envelope (wrong magic, truncated, or a URL map
 * that does not parse).
 */
export class SnapshotEnvelopeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotEnvelopeError';
  }
}

export const isUrlMap = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((url) => typeof url === 'string');
