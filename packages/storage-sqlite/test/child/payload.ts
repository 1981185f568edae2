import type { Entry, Index, NodeId, StorageIdentity, Term } from '@raftkit/core';

export const IDENTITY: StorageIdentity = { clusterId: 'crash-cluster', nodeId: 'n1' as NodeId };

/** Entry `index`'s payload, derivable from the index alone so a reader can tell a torn or mixed log. */
export function payload(index: number, size: number): Uint8Array {
  const data = new Uint8Array(size);
  const view = new DataView(data.buffer);
  view.setUint32(0, index);
  for (let i = 4; i < size; i++) data[i] = (index * 31 + i) & 0xff;
  return data;
}

export function entry(index: number, term: number, size: number): Entry {
  return { index: index as Index, term: term as Term, type: 'normal', data: payload(index, size) };
}

/** Snapshot data of `size` bytes, distinct per `seed`. */
export function snapshotData(seed: number, size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (seed * 131 + i * 7 + (i >> 10)) & 0xff;
  return data;
}
