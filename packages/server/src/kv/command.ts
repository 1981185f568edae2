/**
 * The KV commands as they travel in the Raft log. A small fixed binary layout rather than CBOR:
 * the value is the bulk of an entry and stays a plain byte run at the end, so encoding copies it
 * once and decoding hands out a view, never a copy.
 *
 *   put:    [1][u32 key length][key utf-8][value ...]
 *   delete: [2][key utf-8 ...]
 *   cas:    [3][u32 key length][key utf-8][flags][u32 expected length][expected][value ...]
 *           flags bit 0: `expected` present (absent = "the key must not exist"),
 *           flags bit 1: `value` present (absent = "delete the key").
 *   open a client session:    [4][f64 time]
 *   a write in a session:     [5][f64 session][f64 seq][f64 acked][f64 time][put, delete or cas as above]
 * Lengths are big-endian; the f64 fields hold safe integers (time in ms since the epoch, stamped
 * by the node that took the client's request; see `sessions.ts`).
 */
export type KvWrite =
  | { readonly op: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly key: string }
  | {
      readonly op: 'cas';
      readonly key: string;
      readonly expected: Uint8Array | null;
      readonly value: Uint8Array | null;
    };

/**
 * Everything a KV log entry can carry: a plain write, opening a client session, or a write numbered within
 * a session (dissertation §6.3).
 */
export type KvCommand =
  | KvWrite
  | { readonly op: 'openSession'; readonly time: number }
  | {
      readonly op: 'session';
      readonly session: number;
      readonly seq: number;
      readonly acked: number;
      readonly time: number;
      readonly write: KvWrite;
    };

const OP_PUT = 1;
const OP_DELETE = 2;
const OP_CAS = 3;
const OP_OPEN_SESSION = 4;
const OP_IN_SESSION = 5;
const SESSION_HEADER_BYTES = 1 + 4 * 8;
const HAS_EXPECTED = 1;
const HAS_VALUE = 2;

const utf8 = new TextEncoder();
/** `fatal`: a key that is not valid UTF-8 is a corrupt command, never silently replaced. */
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Encodes a command in the layout above; `decodeCommand` reverses it. */
export function encodeCommand(command: KvCommand): Uint8Array {
  if (command.op === 'openSession') {
    const out = new Uint8Array(9);
    out[0] = OP_OPEN_SESSION;
    new DataView(out.buffer).setFloat64(1, command.time);
    return out;
  }
  if (command.op === 'session') {
    // The inner write is encoded once and copied once, behind the session header.
    const inner = encodeWrite(command.write);
    const out = new Uint8Array(SESSION_HEADER_BYTES + inner.length);
    const view = new DataView(out.buffer);
    out[0] = OP_IN_SESSION;
    view.setFloat64(1, command.session);
    view.setFloat64(9, command.seq);
    view.setFloat64(17, command.acked);
    view.setFloat64(25, command.time);
    out.set(inner, SESSION_HEADER_BYTES);
    return out;
  }
  return encodeWrite(command);
}

function encodeWrite(command: KvWrite): Uint8Array {
  const key = utf8.encode(command.key);
  switch (command.op) {
    case 'put': {
      const out = new Uint8Array(5 + key.length + command.value.length);
      out[0] = OP_PUT;
      new DataView(out.buffer).setUint32(1, key.length);
      out.set(key, 5);
      out.set(command.value, 5 + key.length);
      return out;
    }
    case 'delete': {
      const out = new Uint8Array(1 + key.length);
      out[0] = OP_DELETE;
      out.set(key, 1);
      return out;
    }
    case 'cas': {
      const expected = command.expected ?? new Uint8Array(0);
      const value = command.value ?? new Uint8Array(0);
      const out = new Uint8Array(10 + key.length + expected.length + value.length);
      const view = new DataView(out.buffer);
      out[0] = OP_CAS;
      view.setUint32(1, key.length);
      out.set(key, 5);
      let at = 5 + key.length;
      out[at] = (command.expected === null ? 0 : HAS_EXPECTED) | (command.value === null ? 0 : HAS_VALUE);
      view.setUint32(at + 1, expected.length);
      at += 5;
      out.set(expected, at);
      out.set(value, at + expected.length);
      return out;
    }
  }
}

/** Throws `KvCommandError` for bytes that are not a command this version writes. */
export function decodeCommand(data: Uint8Array): KvCommand {
  if (data.length === 0) throw new KvCommandError('empty command');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const number = (at: number, what: string): number => {
    const n = view.getFloat64(at);
    if (!Number.isSafeInteger(n) || n < 0) throw new KvCommandError(`${what} is not a non-negative integer`);
    return n;
  };
  if (data[0] === OP_OPEN_SESSION) {
    if (data.length !== 9) throw new KvCommandError('open-session command of the wrong length');
    return { op: 'openSession', time: number(1, 'time') };
  }
  if (data[0] === OP_IN_SESSION) {
    if (data.length < SESSION_HEADER_BYTES + 1) throw new KvCommandError('session command too short');
    const write = decodeWrite(data.subarray(SESSION_HEADER_BYTES));
    return {
      op: 'session',
      session: number(1, 'session'),
      seq: number(9, 'seq'),
      acked: number(17, 'acked'),
      time: number(25, 'time'),
      write,
    };
  }
  return decodeWrite(data);
}

function decodeWrite(data: Uint8Array): KvWrite {
  if (data.length === 0) throw new KvCommandError('empty command');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const op = data[0];
  const readKey = (): [string, number] => {
    if (data.length < 5) throw new KvCommandError('command too short for its key length');
    const keyEnd = 5 + view.getUint32(1);
    if (keyEnd > data.length) throw new KvCommandError('key length runs past the command');
    return [decodeKey(data.subarray(5, keyEnd)), keyEnd];
  };
  switch (op) {
    case OP_PUT: {
      const [key, at] = readKey();
      return { op: 'put', key, value: data.subarray(at) };
    }
    case OP_DELETE:
      return { op: 'delete', key: decodeKey(data.subarray(1)) };
    case OP_CAS: {
      const [key, at] = readKey();
      if (at + 5 > data.length) throw new KvCommandError('cas command too short for its flags');
      const flags = data[at]!;
      if ((flags & ~(HAS_EXPECTED | HAS_VALUE)) !== 0) throw new KvCommandError(`unknown cas flags ${flags}`);
      const expectedEnd = at + 5 + view.getUint32(at + 1);
      if (expectedEnd > data.length) throw new KvCommandError('expected value runs past the command');
      return {
        op: 'cas',
        key,
        expected: flags & HAS_EXPECTED ? data.subarray(at + 5, expectedEnd) : null,
        value: flags & HAS_VALUE ? data.subarray(expectedEnd) : null,
      };
    }
    default:
      throw new KvCommandError(`unknown command op ${String(op)}`);
  }
}

function decodeKey(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new KvCommandError('empty key');
  try {
    return utf8Strict.decode(bytes);
  } catch (cause) {
    throw new KvCommandError('key is not valid UTF-8', { cause });
  }
}

/** A log entry that is not a KV command: corruption or a bug, never an expected outcome. */
export class KvCommandError extends Error {
  override readonly name = 'KvCommandError';
}
