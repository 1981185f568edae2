import { type Entry, nodeId } from '@raftkit/core';
import { MemoryStorage } from '@raftkit/testkit';
import { describe, expect, it } from 'vitest';
import { isRaftNodeError, type RaftNodeError } from '../src/errors.ts';
import { RaftNode } from '../src/raft-node.ts';
import { ListStateMachine, text } from './support/cluster.ts';
import { MemoryNetwork } from './support/memory-network.ts';

const solo = nodeId('solo');

/** A single node on the real system clock, as an application would run it (short ticks). */
async function startSolo(stateMachine = new ListStateMachine()) {
  const fatal: RaftNodeError[] = [];
  const node = await RaftNode.start({
    id: solo,
    storage: MemoryStorage.create({ clusterId: 'test', nodeId: solo }),
    transport: new MemoryNetwork().transport(solo),
    stateMachine,
    bootstrap: { members: { solo: 'mem://solo' } },
    tickMs: 5,
  });
  node.on('fatal', ({ error }) => fatal.push(error));
  await new Promise<void>((ready) => {
    if (node.status().leader === solo) return ready();
    const off = node.on('leader', ({ leader }) => {
      if (leader === solo) {
        off();
        ready();
      }
    });
  });
  return { node, fatal };
}

describe('on the system clock', () => {
  it('elects itself, applies, serves reads, and stop() leaves no timer behind', async () => {
    const { node } = await startSolo();
    await expect(node.propose(text('a'))).resolves.toMatchObject({ result: 1 });
    await node.read('linearizable');
    expect(node.status().appliedIndex).toBeGreaterThanOrEqual(3);
    await node.stop();
    // If the tick interval were still set, this test file would never finish.
  });
});

describe('a state machine that throws', () => {
  it('stops the node with Fatal instead of diverging from its peers', async () => {
    class Fragile extends ListStateMachine {
      override apply(entry: Entry): unknown {
        if (new TextDecoder().decode(entry.data) === 'boom') throw new Error('cannot apply');
        return super.apply(entry);
      }
    }
    const { node, fatal } = await startSolo(new Fragile());
    await expect(node.propose(text('fine'))).resolves.toMatchObject({ result: 1 });
    const error = await node.propose(text('boom')).catch((e: unknown) => e);
    expect(isRaftNodeError(error, 'Fatal')).toBe(true);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.cause).toMatchObject({ message: 'cannot apply' });
    await node.stop();
    expect(node.status().state).toBe('stopped');
  });
});

describe('abort signals', () => {
  it('rejects with the signal’s reason, before or during the call', async () => {
    const { node } = await startSolo();
    const before = new AbortController();
    before.abort(new Error('gave up early'));
    await expect(node.propose(text('x'), { signal: before.signal })).rejects.toThrow('gave up early');
    const during = new AbortController();
    const pending = node.read('linearizable', { signal: during.signal });
    during.abort(new Error('gave up'));
    await expect(pending).rejects.toThrow('gave up');
    await node.stop();
  });
});
