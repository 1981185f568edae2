import { KvCommandError } from './command.ts';
import type { KvWriteResult } from './kv-state-machine.ts';
import type { SessionsImage } from './sessions.ts';

/**
 * The KV map as snapshot bytes: a magic and version, the pair count, then each pair as
 * [u32 key length][key utf-8][u32 value length][value], keys ascending. Big-endian. Ascending
 * order lets a restore rebuild the sorted key index without sorting, after checking it.
 *
 * Version 2 appends the client session table (exactly-once writes):
 * [f64 clock][u32 sessions] then per session, least recently used first,
 * [f64 id][f64 lastActive][f64 acked][u32 answers] and per answer
 * [f64 seq][f64 index][u8 kind][u32 length][current value] (kind 0: null, 1: swapped,
 * 2: not swapped, key absent, 3: not swapped, `current` follows; length 0 unless kind 3).
 * Version 1 (no sessions) still restores, with an empty table.
 */
const MAGIC = [0x52, 0x4b, 0x4b, 0x56]; // "RKKV"
const VERSION = 2;
const HEADER_BYTES = MAGIC.length + 1 + 4;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Chunks of about this size: each one encoded between two turns of the event loop. */
const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/**
 * The snapshot of `keys` (ascending), their `values` (same order) and `sessions`, in chunks: the
 * header, pairs in chunks of about `chunkBytes` (one pair may make a chunk larger), then the
 * session table, for a consumer that writes each before asking for the next: the state is
 * serialized a chunk at a time, not in one stretch.
 */
export function* encodeSnapshotChunks(
  keys: readonly string[],
  values: readonly Uint8Array[],
  sessions: SessionsImage<KvWriteResult>,
  chunkBytes = SNAPSHOT_CHUNK_BYTES,
): Generator<Uint8Array> {
  const header = new Uint8Array(HEADER_BYTES);
  header.set(MAGIC, 0);
  header[MAGIC.length] = VERSION;
  new DataView(header.buffer).setUint32(MAGIC.length + 1, keys.length);
  yield header;
  let next = 0;
  while (next < keys.length) {
    // Most keys are ASCII, whose UTF-8 is their char codes: copied by hand below, since one
    // TextEncoder call per key was most of the time a snapshot took.
    const from = next;
    const encodedKeys: (Uint8Array | null)[] = [];
    let size = 0;
    while (next < keys.length && (next === from || size < chunkBytes)) {
      const key = keys[next]!;
      const encoded = isAscii(key) ? null : utf8.encode(key);
      encodedKeys.push(encoded);
      size += 8 + (encoded?.length ?? key.length) + values[next]!.length;
      next++;
    }
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    let at = 0;
    for (let i = from; i < next; i++) {
      const key = keys[i]!;
      const encoded = encodedKeys[i - from]!;
      const value = values[i]!;
      if (encoded === null) {
        view.setUint32(at, key.length);
        for (let j = 0; j < key.length; j++) out[at + 4 + j] = key.charCodeAt(j);
        at += 4 + key.length;
      } else {
        view.setUint32(at, encoded.length);
        out.set(encoded, at + 4);
        at += 4 + encoded.length;
      }
      view.setUint32(at, value.length);
      out.set(value, at + 4);
      at += 4 + value.length;
    }
    yield out;
  }
  yield encodeSessions(sessions);
}

function encodeSessions(sessions: SessionsImage<KvWriteResult>): Uint8Array {
  let size = 12;
  for (const s of sessions.sessions) {
    size += 28;
    for (const a of s.answers) size += 21 + currentOf(a.result).length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setFloat64(0, sessions.clock);
  view.setUint32(8, sessions.sessions.length);
  let at = 12;
  for (const s of sessions.sessions) {
    view.setFloat64(at, s.id);
    view.setFloat64(at + 8, s.lastActive);
    view.setFloat64(at + 16, s.acked);
    view.setUint32(at + 24, s.answers.length);
    at += 28;
    for (const a of s.answers) {
      const current = currentOf(a.result);
      view.setFloat64(at, a.seq);
      view.setFloat64(at + 8, a.index);
      out[at + 16] = kindOf(a.result);
      view.setUint32(at + 17, current.length);
      out.set(current, at + 21);
      at += 21 + current.length;
    }
  }
  return out;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

const kindOf = (result: KvWriteResult): number =>
  result === null ? 0 : result.swapped ? 1 : result.current === null ? 2 : 3;

const none = new Uint8Array(0);
const currentOf = (result: KvWriteResult): Uint8Array =>
  result !== null && !result.swapped && result.current !== null ? result.current : none;

export interface DecodedSnapshot {
  readonly pairs: [string, Uint8Array][];
  readonly sessions: SessionsImage<KvWriteResult>;
}

/** The pairs, keys ascending, and the sessions; throws `KvCommandError` naming the offset of the first problem. */
export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  const fail = (what: string, offset: number): never => {
    throw new KvCommandError(`KV snapshot: ${what} at offset ${offset}`);
  };
  if (data.length < HEADER_BYTES || MAGIC.some((byte, i) => data[i] !== byte)) fail('bad magic', 0);
  const version = data[MAGIC.length];
  if (version !== 1 && version !== VERSION) fail(`unsupported version ${String(version)}`, MAGIC.length);
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
  const sessions: SessionsImage<KvWriteResult> = version === 1 ? { clock: 0, sessions: [] } : readSessions();
  if (at !== data.length) fail('trailing bytes', at);
  return { pairs, sessions };

  function need(bytes: number): void {
    if (at + bytes > data.length) fail('truncated session table', at);
  }
  function number(offset: number): number {
    const n = view.getFloat64(offset);
    if (!Number.isSafeInteger(n) || n < 0) fail('bad number in the session table', offset);
    return n;
  }
  function readSessions(): SessionsImage<KvWriteResult> {
    need(12);
    const clock = number(at);
    const count = view.getUint32(at + 8);
    at += 12;
    const list: SessionsImage<KvWriteResult>['sessions'][number][] = [];
    const ids = new Set<number>();
    for (let i = 0; i < count; i++) {
      need(28);
      const id = number(at);
      if (ids.has(id)) fail('duplicate session', at);
      ids.add(id);
      const session = {
        id,
        lastActive: number(at + 8),
        acked: number(at + 16),
        answers: [] as { seq: number; index: number; result: KvWriteResult }[],
      };
      const answers = view.getUint32(at + 24);
      at += 28;
      for (let k = 0; k < answers; k++) {
        need(21);
        const seq = number(at);
        const index = number(at + 8);
        const kind = data[at + 16];
        const length = view.getUint32(at + 17);
        if (kind! > 3 || (kind !== 3 && length !== 0)) fail('bad answer', at);
        at += 21;
        need(length);
        const current = data.slice(at, at + length);
        at += length;
        const result: KvWriteResult =
          kind === 0
            ? null
            : kind === 1
              ? { swapped: true }
              : { swapped: false, current: kind === 2 ? null : current };
        session.answers.push({ seq, index, result });
      }
      list.push(session);
    }
    return { clock, sessions: list };
  }
}

/**
 * Describes a KV snapshot as its bytes stream past (for a backup's manifest): the pair count
 * from the header, and the snapshot's size in bytes.
 */
export function snapshotSummary(): {
  /** Feeds the next chunk of the snapshot, in order. */
  update(chunk: Uint8Array): void;
  /**
   * The pair count from the header (0 if fewer bytes than a header were seen) and the bytes seen so far.
   */
  digest(): { keys: number; bytes: number };
} {
  const header = new Uint8Array(HEADER_BYTES);
  let seen = 0;
  return {
    update(chunk) {
      if (seen < HEADER_BYTES) header.set(chunk.subarray(0, HEADER_BYTES - seen), seen);
      seen += chunk.length;
    },
    digest() {
      const keys = seen < HEADER_BYTES ? 0 : new DataView(header.buffer).getUint32(MAGIC.length + 1);
      return { keys, bytes: seen };
    },
  };
}
