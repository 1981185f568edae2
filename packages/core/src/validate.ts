import { RaftError } from './errors.ts';
import type { Message } from './messages.ts';
import type { Entry, Membership, Snapshot } from './types.ts';

/**
 * The boundary check for every message from outside: a malformed one is refused with a typed
 * error before any state is touched, so a buggy or hostile peer cannot corrupt the core.
 */
export function validateMessage(value: unknown): asserts value is Message {
  const m = record(value, 'message');
  const type = m.type;
  nodeIdField(m, 'from');
  nodeIdField(m, 'to');
  const term = count(m, 'term');
  switch (type) {
    case 'RequestVote':
      bool(m, 'preVote');
      bool(m, 'transfer');
      count(m, 'lastLogIndex');
      if (count(m, 'lastLogTerm') > term) invalid('lastLogTerm is above the message term');
      return;
    case 'RequestVoteResponse':
      bool(m, 'preVote');
      bool(m, 'granted');
      return;
    case 'AppendEntries': {
      const prevLogIndex = count(m, 'prevLogIndex');
      const prevLogTerm = count(m, 'prevLogTerm');
      count(m, 'leaderCommit');
      if (prevLogTerm > term) invalid('prevLogTerm is above the message term');
      if (!Array.isArray(m.entries)) invalid('entries must be an array');
      let previousTerm = prevLogTerm;
      (m.entries as unknown[]).forEach((value, i) => {
        const entry = validateEntry(value, `entries[${i}]`);
        if (entry.index !== prevLogIndex + 1 + i) invalid(`entries[${i}].index is not contiguous`);
        if (entry.term < previousTerm || entry.term > term) invalid(`entries[${i}].term is out of order`);
        previousTerm = entry.term;
      });
      return;
    }
    case 'AppendEntriesResponse':
      bool(m, 'success');
      count(m, 'index');
      count(m, 'conflictIndex');
      count(m, 'conflictTerm');
      return;
    case 'Heartbeat':
      count(m, 'commitIndex');
      count(m, 'readRound');
      return;
    case 'HeartbeatResponse':
      count(m, 'readRound');
      return;
    case 'InstallSnapshot':
      validateSnapshot(m.snapshot, term);
      return;
    case 'TimeoutNow':
      return;
    case 'ReadIndexRequest':
      count(m, 'requestId');
      bool(m, 'lease');
      return;
    case 'ReadIndexResponse':
      count(m, 'requestId');
      count(m, 'readIndex');
      bool(m, 'ok');
      return;
    default:
      invalid(`unknown message type ${JSON.stringify(type)}`);
  }
}

function validateEntry(value: unknown, name: string): Entry {
  const e = record(value, name);
  count(e, 'index');
  count(e, 'term');
  if (e.type !== 'normal' && e.type !== 'config') invalid(`${name}.type must be "normal" or "config"`);
  if (!(e.data instanceof Uint8Array)) invalid(`${name}.data must be a Uint8Array`);
  return e as unknown as Entry;
}

function validateSnapshot(value: unknown, messageTerm: number): asserts value is Snapshot {
  const s = record(value, 'snapshot');
  const meta = record(s.meta, 'snapshot.meta');
  count(meta, 'index');
  if (count(meta, 'term') > messageTerm) invalid('snapshot term is above the message term');
  validateMembership(meta.membership);
  if (!(s.data instanceof Uint8Array)) invalid('snapshot.data must be a Uint8Array');
}

export function validateMembership(value: unknown): asserts value is Membership {
  const m = record(value, 'membership');
  for (const field of ['voters', 'votersOutgoing', 'learners'] as const) {
    const ids = m[field];
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && id.length > 0)) {
      invalid(`membership.${field} must be an array of node ids`);
    }
    if (new Set(ids).size !== ids.length) invalid(`membership.${field} lists a node twice`);
  }
  const learners = m.learners as string[];
  const voters = new Set([...(m.voters as string[]), ...(m.votersOutgoing as string[])]);
  if (learners.some((id) => voters.has(id))) invalid('a node cannot be both voter and learner');
}

function record(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalid(`${name} must be an object`);
  return value as Record<string, unknown>;
}

function count(m: Record<string, unknown>, field: string): number {
  const value = m[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(`${field} must be a non-negative integer`);
  }
  return value;
}

function bool(m: Record<string, unknown>, field: string): void {
  if (typeof m[field] !== 'boolean') invalid(`${field} must be a boolean`);
}

function nodeIdField(m: Record<string, unknown>, field: string): void {
  const value = m[field];
  if (typeof value !== 'string' || value.length === 0) invalid(`${field} must be a non-empty node id`);
}

function invalid(reason: string): never {
  throw new RaftError('InvalidMessage', `invalid message: ${reason}`);
}
