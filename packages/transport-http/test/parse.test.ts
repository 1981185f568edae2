import type { Message } from '@raftkit/core';
import { isRaftError, MAX_ID_LENGTH, parseMessage } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../src/codec.ts';
import { A, B, everyMessage } from './support.ts';

const roundTrip = (m: unknown) => parseMessage(decodeCbor(encodeCbor(m)));

/** A copy of `m` with `path` (dot-separated, numeric parts index arrays) set to `value`, or deleted. */
function mutate(m: Message, path: string, value: unknown, remove = false): unknown {
  const copy = structuredClone(m) as unknown as Record<string, unknown>;
  const keys = path.split('.');
  let target: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = keys.at(-1)!;
  if (remove) delete target[last];
  else target[last] = value;
  return copy;
}

const byType = (type: Message['type']) => everyMessage(A, B).find((m) => m.type === type)!;

function expectInvalid(value: unknown, field: string) {
  try {
    roundTrip(value);
  } catch (error) {
    expect(isRaftError(error, 'InvalidMessage')).toBe(true);
    expect((error as Error).message).toContain(field);
    return;
  }
  throw new Error(`accepted an invalid message (${field})`);
}

describe('parseMessage on decoded wire data', () => {
  it.each(everyMessage(A, B).map((m) => [m.type, m] as const))(
    'accepts %s after a CBOR round trip',
    (_, m) => {
      const decoded = roundTrip(m);
      expect(decoded).toEqual(m);
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    },
  );

  it('copies payloads out of the received bytes, so a kept entry does not pin its network chunk', () => {
    const m = byType('AppendEntries');
    const wire = encodeCbor(m).slice();
    const decoded = parseMessage(decodeCbor(wire));
    if (decoded.type !== 'AppendEntries') throw new Error('wrong type');
    expect(decoded.entries[0]!.data.buffer).not.toBe(wire.buffer);
    expect(decoded.entries[0]!.data.byteLength).toBe(decoded.entries[0]!.data.buffer.byteLength);
    wire.fill(0);
    expect(decoded.entries).toEqual(m.type === 'AppendEntries' ? m.entries : []);
  });

  it('drops fields the core does not know', () => {
    const decoded = roundTrip({ ...byType('TimeoutNow'), extra: 'x' });
    expect(Object.keys(decoded).sort()).toEqual(['from', 'term', 'to', 'type']);
  });

  it.each([
    ['not a map', ['RequestVote'], 'message'],
    ['null', null, 'message'],
    ['bytes', new Uint8Array(3), 'message'],
  ])('refuses %s', (_, value, field) => expectInvalid(value, field));

  it.each<[string, Message['type'], string, unknown]>([
    ['an unknown type', 'TimeoutNow', 'type', 'Gossip'],
    ['a negative term', 'Heartbeat', 'term', -1],
    ['a fractional term', 'Heartbeat', 'term', 1.5],
    ['an unsafe integer', 'Heartbeat', 'commitIndex', 2 ** 53],
    ['a string for a number', 'Heartbeat', 'readRound', '2'],
    ['an empty from', 'Heartbeat', 'from', ''],
    ['an overlong to', 'Heartbeat', 'to', 'x'.repeat(MAX_ID_LENGTH + 1)],
    ['a number for a boolean', 'RequestVoteResponse', 'granted', 1],
    ['lastLogTerm above term', 'RequestVote', 'lastLogTerm', 4],
    ['prevLogTerm above term', 'AppendEntries', 'prevLogTerm', 4],
    ['entries not an array', 'AppendEntries', 'entries', {}],
    ['a gap in entries', 'AppendEntries', 'entries.1.index', 8],
    ['an entry term above the message term', 'AppendEntries', 'entries.1.term', 4],
    ['entry terms going down', 'AppendEntries', 'entries.0.term', 1],
    ['an unknown entry type', 'AppendEntries', 'entries.0.type', 'noop'],
    ['string data', 'AppendEntries', 'entries.0.data', 'abc'],
    ['an entry index of zero', 'AppendEntries', 'entries.0.index', -5],
    ['a voter that is not a string', 'InstallSnapshot', 'snapshot.meta.membership.voters.0', 7],
    ['snapshot data that is not bytes', 'InstallSnapshot', 'snapshot.data', [1, 2]],
    ['a negative request id', 'ReadIndexRequest', 'requestId', -1],
    ['no proposed entries', 'Propose', 'entries', []],
    ['an empty proposed entry', 'Propose', 'entries.1', new Uint8Array(0)],
    ['a proposed entry that is not bytes', 'Propose', 'entries.0', 'abc'],
    ['an unknown refusal', 'ProposeResponse', 'refused', 'Nope'],
    ['an appended index of zero', 'ProposeResponse', 'index', 0],
  ])('refuses %s', (_, type, path, value) => {
    expectInvalid(mutate(byType(type), path, value), path.split('.').at(-1)!);
  });

  it.each<[Message['type'], string]>([
    ['RequestVote', 'transfer'],
    ['AppendEntriesResponse', 'conflictTerm'],
    ['ReadIndexResponse', 'ok'],
    ['ReadIndexRequest', 'lease'],
    ['InstallSnapshot', 'snapshot.meta.membership.learners'],
    ['Heartbeat', 'from'],
    ['ProposeResponse', 'refused'],
  ])('refuses a %s without %s', (type, path) => {
    expectInvalid(mutate(byType(type), path, undefined, true), path.split('.').at(-1)!);
  });
});
