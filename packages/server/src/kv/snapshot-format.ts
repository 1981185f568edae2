import { KvCommandError } from './command.ts';

/**
 * The KV map as snapshot bytes: a magic and version, the pair count, then each pair as
 * [u32 key length][key utf-8][u32 value length][value], keys ascending. Big-endian. Ascending
 * order lets a restore rebuild the sorted key index without sorting, after checking it.
 */
const MAGIC = [0x52, 0x4b, 0x4b, 0x56]; // "RKKV"
const VERSION = 1;
const HEADER_BYTES = MAGIC.length + 1 + 4;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function encodeSnapshot(keys: readonly string[], values: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const encodedKeys = keys.map((key) => utf8.encode(key));
  let size = HEADER_BYTES;
  for (let i = 0; i < keys.length; i++) size += 8 + encodedKeys[i]!.length + values.get(keys[i]!)!.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[MAGIC.length] = VERSION;
  view.setUint32(MAGIC.length + 1, keys.length);
  let at = HEADER_BYTES;
  for (let i = 0; i < keys.length; i++) {
    const key = encodedKeys[i]!;
    const value = values.get(keys[i]!)!;
    view.setUint32(at, key.length);
    out.set(key, at + 4);
    at += 4 + key.length;
    view.setUint32(at, value.length);
    out.set(value, at + 4);
    at += 4 + value.length;
  }
  return out;
}

/** The pairs, keys ascending; throws `KvCommandError` naming the offset of the first problem. */
export function decodeSnapshot(data: Uint8Array): [string, Uint8Array][] {
  const fail = (what: string, offset: number): never => {
    throw new KvCommandError(`KV snapshot: ${what} at offset ${offset}`);
  };
  if (data.length < HEADER_BYTES || MAGIC.some((byte, i) => data[i] !== byte)) fail('bad magic', 0);
  if (data[MAGIC.length] !== VERSION) fail(`unsupported version ${String(data[MAGIC.length])}`, MAGIC.length);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint32(MAGIC.length + 1);
  const pairs: [string, Uint8Array][] = [];
  let at = HEADER_BYTES;
  const field = (): Uint8Array => {
    if (at + 4 > data.length) fail('truncated length', at);
    const end = at + 4 + view.getUint32(at);
    if (end > data.length) fail('length past the end', at);
    const bytes = data.subarray(at + 4, end);
    at = end;
    return bytes;
  };
  let previous: string | null = null;
  for (let i = 0; i < count; i++) {
    const keyAt = at;
    let key = '';
    try {
      key = utf8Strict.decode(field());
    } catch (error) {
      if (error instanceof KvCommandError) throw error;
      fail('key is not valid UTF-8', keyAt);
    }
    if (key.length === 0) fail('empty key', keyAt);
    if (previous !== null && key <= previous) fail('keys out of order', keyAt);
    pairs.push([key, field().slice()]);
    previous = key;
  }
  if (at !== data.length) fail('trailing bytes', at);
  return pairs;
}
