import { describe, expect, it } from 'vitest';
import { bytes, TestCluster } from './testing/cluster.ts';

describe('RawNode', () => {
  it('elects a leader and replicates a proposal to every node', () => {
    const c = new TestCluster(['a', 'b', 'c']);
    c.tickAll(30);
    const leader = c.leader();
    expect(leader).toBeDefined();
    leader?.propose(bytes('x=1'));
    c.settle();
    for (const id of ['a', 'b', 'c']) expect(c.appliedData(id)).toEqual(['x=1']);
  });
});
