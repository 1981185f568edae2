import { RaftError } from './errors.ts';
import { parseMembership } from './parse.ts';
import type { ConfigChange, MemberChange, Membership, NodeId } from './types.ts';

/**
 * Membership changes (thesis §4). A change that adds or removes at most one voter moves straight
 * to the new configuration: any majority of the old and any majority of the new one overlap. A
 * change of several voters goes through joint consensus (thesis §4.3): C_old,new, where every
 * decision needs a majority of both, and then C_new, which the leader proposes on its own once
 * the joint entry commits.
 *
 * Shaped like etcd-io/raft's confchange: copy the configuration, change the copy, validate it,
 * return it. The input is never modified, so a refused change leaves nothing behind.
 */
export function applyConfigChange(current: Membership, change: ConfigChange): Membership {
  if (isJoint(current)) {
    if (change.changes.length > 0) refuse('the configuration is joint; only leaving it is allowed');
    return { voters: current.voters, votersOutgoing: [], learners: current.learners };
  }
  if (change.changes.length === 0) refuse('a configuration change must change something');
  const voters = [...current.voters];
  const learners = [...current.learners];
  for (const c of change.changes) applyMemberChange(voters, learners, c);
  if (voters.length === 0) refuse('the configuration would have no voters');
  const changedVoters =
    voters.filter((id) => !current.voters.includes(id)).length +
    current.voters.filter((id) => !voters.includes(id)).length;
  const next: Membership =
    changedVoters <= 1
      ? { voters, votersOutgoing: [], learners }
      : { voters, votersOutgoing: [...current.voters], learners };
  try {
    parseMembership(next);
  } catch (cause) {
    refuse(`the resulting configuration is invalid: ${(cause as Error).message}`);
  }
  return next;
}

/** The entry that ends a joint configuration: it carries no member changes. */
export const leaveJoint: ConfigChange = { changes: [] };

export const isJoint = (m: Membership): boolean => m.votersOutgoing.length > 0;

function applyMemberChange(voters: NodeId[], learners: NodeId[], c: MemberChange): void {
  const isVoter = voters.includes(c.id);
  const isLearner = learners.includes(c.id);
  switch (c.kind) {
    case 'addVoter':
      if (isVoter) refuse(`${c.id} is already a voter`);
      if (isLearner) learners.splice(learners.indexOf(c.id), 1); // promotion
      voters.push(c.id);
      return;
    case 'addLearner':
      if (isVoter) refuse(`${c.id} is a voter; remove it before adding it back as a learner`);
      if (isLearner) refuse(`${c.id} is already a learner`);
      learners.push(c.id);
      return;
    case 'remove':
      if (isVoter) voters.splice(voters.indexOf(c.id), 1);
      else if (isLearner) learners.splice(learners.indexOf(c.id), 1);
      else refuse(`${c.id} is not a member`);
      return;
  }
}

function refuse(reason: string): never {
  throw new RaftError('InvalidConfigChange', reason);
}

// Encoding of a ConfigChange inside a `config` entry: a 4-byte big-endian length, the JSON of
// the member changes, then the application's opaque context bytes. Self-contained so the core
// needs no codec dependency.

/**
 * The data of a `config` entry: the changes as length-prefixed JSON, then the caller's `context` bytes
 * unchanged.
 */
export function encodeConfigChange(change: ConfigChange): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(change.changes));
  const context = change.context ?? new Uint8Array(0);
  const out = new Uint8Array(4 + json.byteLength + context.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength);
  out.set(json, 4);
  out.set(context, 4 + json.byteLength);
  return out;
}

/**
 * Reads a `config` entry's data back into the change `encodeConfigChange` wrote. Throws `RaftError` code
 * `InvalidMessage` for truncated or malformed data.
 */
export function decodeConfigChange(data: Uint8Array): ConfigChange {
  if (data.byteLength < 4) throw new RaftError('InvalidMessage', 'config entry is too short');
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (4 + length > data.byteLength) throw new RaftError('InvalidMessage', 'config entry is truncated');
  let changes: unknown;
  try {
    changes = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length)));
  } catch (cause) {
    throw new RaftError('InvalidMessage', 'config entry is not valid JSON', { cause });
  }
  if (!Array.isArray(changes) || !changes.every(isMemberChange)) {
    throw new RaftError('InvalidMessage', 'config entry does not hold member changes');
  }
  return { changes, context: data.subarray(4 + length) };
}

function isMemberChange(value: unknown): value is MemberChange {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, id } = value as Record<string, unknown>;
  return (
    (kind === 'addVoter' || kind === 'addLearner' || kind === 'remove') && typeof id === 'string' && id !== ''
  );
}
