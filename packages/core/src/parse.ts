import { RaftError } from './errors.ts';
import type { Message, MessageType, ProposalRefusal } from './messages.ts';
import type { Entry, EntryType, Index, Membership, NodeId, Snapshot, SnapshotMeta, Term } from './types.ts';

/**
 * The boundary between the outside world and the core, in one place: whatever a peer (or a
 * decoder, or a caller) hands over is checked field by field and rebuilt as a fresh plain object
 * with exactly the fields the core's types name, so nothing unexpected (extra fields, odd
 * prototypes, decoder tags) gets in. `RawNode.step` parses every message this way; transports
 * use the same functions on what they decode. Payload bytes are passed on as views, never copied.
 */

/** Longer ids are refused: they only ever come from a bug or an attacker. */
export const MAX_ID_LENGTH = 256;

type Fields = Record<string, unknown>;

function invalid(path: string, expectation: string): never {
  throw new RaftError('InvalidMessage', `${path} must be ${expectation}`);
}

/**
 * Checks that `value` is a plain map (not null, an array or bytes). Throws `RaftError` code
 * `InvalidMessage`, naming `path`.
 */
export function parseRecord(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    invalid(path, 'a map');
  }
  return value as Fields;
}

/**
 * Checks that `value` is an array and returns it unchanged. Throws `RaftError` code `InvalidMessage`,
 * naming `path`.
 */
export function parseArray(value: unknown, path: string): readonly unknown[] {
  return Array.isArray(value) ? value : invalid(path, 'an array');
}

/** Terms, indexes and counters: safe integers from 0 up (a decoded -0 becomes 0). */
export function parseNatural(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(path, 'a non-negative safe integer');
  }
  return value + 0;
}

/** Checks that `value` is a boolean. Throws `RaftError` code `InvalidMessage`, naming `path`. */
export function parseBoolean(value: unknown, path: string): boolean {
  return typeof value === 'boolean' ? value : invalid(path, 'a boolean');
}

/**
 * Byte strings come out of the decoder as Node `Buffer`s on some runtimes; they are re-viewed
 * as plain `Uint8Array`s (no copy) because `Buffer#slice` shares memory where
 * `Uint8Array#slice` copies, a difference the core must never have to think about.
 */
export function parseBytes(value: unknown, path: string): Uint8Array {
  if (!(value instanceof Uint8Array)) invalid(path, 'a byte string');
  return value.constructor === Uint8Array
    ? value
    : new Uint8Array(value.buffer, value.byteOffset, value.length);
}

/** Node ids and group ids: non-empty strings of bounded length. */
export function parseIdentifier(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    invalid(path, `a string of 1 to ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

const nodeIdAt = (m: Fields, key: string, path: string): NodeId =>
  parseIdentifier(m[key], `${path}.${key}`) as NodeId;
const termAt = (m: Fields, key: string, path: string): Term => parseNatural(m[key], `${path}.${key}`) as Term;
const indexAt = (m: Fields, key: string, path: string): Index =>
  parseNatural(m[key], `${path}.${key}`) as Index;
const boolAt = (m: Fields, key: string, path: string): boolean => parseBoolean(m[key], `${path}.${key}`);

const ENTRY_TYPES: ReadonlySet<string> = new Set<EntryType>(['normal', 'config']);

function parseEntry(value: unknown, path: string): Entry {
  const e = parseRecord(value, path);
  if (typeof e.type !== 'string' || !ENTRY_TYPES.has(e.type)) invalid(`${path}.type`, "'normal' or 'config'");
  return {
    index: indexAt(e, 'index', path),
    term: termAt(e, 'term', path),
    type: e.type as EntryType,
    data: parseBytes(e.data, `${path}.data`),
  };
}

function nodeIds(value: unknown, path: string): NodeId[] {
  return parseArray(value, path).map((id, i) => parseIdentifier(id, `${path}[${i}]`) as NodeId);
}

/** A membership: node ids, none listed twice, no voter also a learner. */
export function parseMembership(value: unknown, path = 'membership'): Membership {
  const m = parseRecord(value, path);
  const membership: Membership = {
    voters: nodeIds(m.voters, `${path}.voters`),
    votersOutgoing: nodeIds(m.votersOutgoing, `${path}.votersOutgoing`),
    learners: nodeIds(m.learners, `${path}.learners`),
  };
  for (const field of ['voters', 'votersOutgoing', 'learners'] as const) {
    if (new Set(membership[field]).size !== membership[field].length)
      invalid(`${path}.${field}`, 'free of duplicates');
  }
  const voters = new Set([...membership.voters, ...membership.votersOutgoing]);
  if (membership.learners.some((id) => voters.has(id)))
    invalid(`${path}.learners`, 'disjoint from the voters');
  return membership;
}

/**
 * Checks a decoded `SnapshotMeta` field by field and rebuilds it as a fresh object. Throws `RaftError` code
 * `InvalidMessage`, naming the field's path.
 */
export function parseSnapshotMeta(value: unknown, path: string): SnapshotMeta {
  const m = parseRecord(value, path);
  return {
    index: indexAt(m, 'index', path),
    term: termAt(m, 'term', path),
    membership: parseMembership(m.membership, `${path}.membership`),
  };
}

function parseSnapshot(value: unknown, path: string): Snapshot {
  const s = parseRecord(value, path);
  return { meta: parseSnapshotMeta(s.meta, `${path}.meta`), data: parseBytes(s.data, `${path}.data`) };
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** One validator per message type: reads the fields beyond the envelope and builds the message. */
const bodies: { readonly [T in MessageType]: (m: Fields, e: Envelope, path: string) => Message } = {
  RequestVote(m, e, path) {
    const lastLogTerm = termAt(m, 'lastLogTerm', path);
    if (lastLogTerm > e.term) invalid(`${path}.lastLogTerm`, 'at most the message term');
    return {
      type: 'RequestVote',
      ...e,
      preVote: boolAt(m, 'preVote', path),
      lastLogIndex: indexAt(m, 'lastLogIndex', path),
      lastLogTerm,
      transfer: boolAt(m, 'transfer', path),
    };
  },
  RequestVoteResponse: (m, e, path) => ({
    type: 'RequestVoteResponse',
    ...e,
    preVote: boolAt(m, 'preVote', path),
    granted: boolAt(m, 'granted', path),
  }),
  AppendEntries(m, e, path) {
    const prevLogIndex = indexAt(m, 'prevLogIndex', path);
    const prevLogTerm = termAt(m, 'prevLogTerm', path);
    if (prevLogTerm > e.term) invalid(`${path}.prevLogTerm`, 'at most the message term');
    // A leader's entries follow prevLogIndex without gaps, with terms that never go down and
    // never pass its own term (Raft §5.3): anything else is corrupt, whoever sent it.
    let previousTerm: number = prevLogTerm;
    const entries = parseArray(m.entries, `${path}.entries`).map((value, i) => {
      const entry = parseEntry(value, `${path}.entries[${i}]`);
      if (entry.index !== prevLogIndex + 1 + i)
        invalid(`${path}.entries[${i}].index`, String(prevLogIndex + 1 + i));
      if (entry.term < previousTerm || entry.term > e.term) {
        invalid(`${path}.entries[${i}].term`, `between ${previousTerm} and the message term`);
      }
      previousTerm = entry.term;
      return entry;
    });
    return {
      type: 'AppendEntries',
      ...e,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: indexAt(m, 'leaderCommit', path),
    };
  },
  AppendEntriesResponse: (m, e, path) => ({
    type: 'AppendEntriesResponse',
    ...e,
    success: boolAt(m, 'success', path),
    index: indexAt(m, 'index', path),
    conflictIndex: indexAt(m, 'conflictIndex', path),
    conflictTerm: termAt(m, 'conflictTerm', path),
  }),
  Heartbeat: (m, e, path) => ({
    type: 'Heartbeat',
    ...e,
    commitIndex: indexAt(m, 'commitIndex', path),
    readRound: parseNatural(m.readRound, `${path}.readRound`),
  }),
  HeartbeatResponse: (m, e, path) => ({
    type: 'HeartbeatResponse',
    ...e,
    readRound: parseNatural(m.readRound, `${path}.readRound`),
  }),
  InstallSnapshot: (m, e, path) => ({
    type: 'InstallSnapshot',
    ...e,
    snapshot: parseSnapshot(m.snapshot, `${path}.snapshot`),
  }),
  TimeoutNow: (_m, e) => ({ type: 'TimeoutNow', ...e }),
  ReadIndexRequest: (m, e, path) => ({
    type: 'ReadIndexRequest',
    ...e,
    requestId: parseNatural(m.requestId, `${path}.requestId`),
    lease: boolAt(m, 'lease', path),
  }),
  ReadIndexResponse: (m, e, path) => ({
    type: 'ReadIndexResponse',
    ...e,
    requestId: parseNatural(m.requestId, `${path}.requestId`),
    readIndex: indexAt(m, 'readIndex', path),
    ok: boolAt(m, 'ok', path),
  }),
  Propose: (m, e, path) => ({
    type: 'Propose',
    ...e,
    requestId: parseNatural(m.requestId, `${path}.requestId`),
    entries: parseProposals(m.entries, `${path}.entries`),
  }),
  ProposeResponse(m, e, path) {
    const index = indexAt(m, 'index', path);
    const refused = m.refused === null ? null : parseRefusal(m.refused, `${path}.refused`);
    if ((refused === null) === (index === 0)) invalid(`${path}.index`, 'positive exactly when not refused');
    return {
      type: 'ProposeResponse',
      ...e,
      requestId: parseNatural(m.requestId, `${path}.requestId`),
      index,
      refused,
    };
  },
};

const refusals: readonly ProposalRefusal[] = ['NotLeader', 'TransferInProgress', 'Busy'];

function parseRefusal(value: unknown, path: string): ProposalRefusal {
  if (!refusals.includes(value as ProposalRefusal)) invalid(path, `null or one of ${refusals.join(', ')}`);
  return value as ProposalRefusal;
}

/** Proposed commands: at least one, none empty (an empty entry is the leader's no-op, never a command). */
export function parseProposals(value: unknown, path: string): Uint8Array[] {
  const entries = parseArray(value, path).map((data, i) => {
    const bytes = parseBytes(data, `${path}[${i}]`);
    if (bytes.byteLength === 0) invalid(`${path}[${i}]`, 'a non-empty byte string');
    return bytes;
  });
  if (entries.length === 0) invalid(path, 'at least one entry');
  return entries;
}

function parseEnvelope(m: Fields, path: string): Envelope {
  return { from: nodeIdAt(m, 'from', path), to: nodeIdAt(m, 'to', path), term: termAt(m, 'term', path) };
}

/**
 * Checks a decoded value against the core's message types and returns it rebuilt as exactly that
 * shape. Throws `RaftError` with code `InvalidMessage`, naming the offending field, otherwise.
 */
export function parseMessage(value: unknown, path = 'message'): Message {
  const m = parseRecord(value, path);
  const type = m.type;
  if (typeof type !== 'string' || !Object.hasOwn(bodies, type))
    invalid(`${path}.type`, 'a known message type');
  return bodies[type as MessageType](m, parseEnvelope(m, path), path);
}
