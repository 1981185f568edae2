import type { Entry, HardState, Membership, Snapshot, StorageIdentity } from '@raftkit/core';
import { index, nodeId, term } from '@raftkit/core';

export const identity: StorageIdentity = { clusterId: 'c1', nodeId: nodeId('n1') };
export const membership: Membership = { voters: [nodeId('n1')], votersOutgoing: [], learners: [] };

export function entry(i: number, t: number, size = 16): Entry {
  const data = new Uint8Array(size);
  for (let k = 0; k < size; k++) data[k] = (i + k * 13) & 0xff;
  return { index: index(i), term: term(t), type: 'normal', data };
}

export const run = (from: number, to: number, t: number, size = 16): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, k) => entry(from + k, t, size));

export const hard = (t: number, commit: number, vote: string | null = 'n1'): HardState => ({
  term: term(t),
  votedFor: vote === null ? null : nodeId(vote),
  commitIndex: index(commit),
});

export const snapshot = (i: number, t: number, size = 100): Snapshot => ({
  meta: { index: index(i), term: term(t), membership },
  data: new Uint8Array(size).fill(i & 0xff),
});
