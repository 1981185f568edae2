import { bootstrapState, nodeId } from '@raftkit/core';
import { describe, expect, it } from 'vitest';
import { SafetyChecker } from './checker.ts';
import type { NodeHost } from './node.ts';
import { SimNode } from './node.ts';
import { KvStateMachine } from './state-machine.ts';

/** A crash keeps exactly what the node persisted under the Ready contract, nothing in flight. */
describe('SimNode', () => {
  const id = nodeId('n1');
  const fail = (kind: string, detail: string): never => {
    throw new Error(`${kind}: ${detail}`);
  };

  function setup(fsyncDelay: number) {
    const sent: string[] = [];
    let due: SimNode | null = null;
    const host: NodeHost = {
      checker: new SafetyChecker(fail),
      fail,
      send: (m) => sent.push(m.type),
      fsyncDelay: () => fsyncDelay,
      schedulePersist: (node) => {
        due = node;
      },
      record: () => {},
      onApplied: () => {},
      onReadStates: () => {},
      onForwarded: () => {},
    };
    const node = new SimNode({
      id,
      host,
      initial: bootstrapState({ voters: [id], votersOutgoing: [], learners: [] }),
      stateMachine: () => new KvStateMachine(),
      snapshotEvery: 0,
      coreInvariants: true,
    });
    return { node, sent, persistDue: () => due };
  }

  it('loses a write whose fsync had not completed, and restarts from the disk', async () => {
    const { node, persistDue } = setup(3);
    await node.start({ id, seed: 1 }, {});
    await node.drain();
    const before = node.durable.load();
    node.core.campaign();
    await node.drain();
    expect(persistDue()).toBe(node);
    expect(node.core.status().role).toBe('leader');
    await node.crash();
    expect(node.durable.load()).toEqual(before);
    await node.start({ id, seed: 1 }, {});
    expect(node.core.status()).toMatchObject({ role: 'follower', term: before.hardState.term });
  });

  it('keeps a write once its fsync completed, and applies it only after the commit is durable', async () => {
    const { node } = setup(3);
    await node.start({ id, seed: 1 }, {});
    await node.drain();
    node.core.campaign();
    await node.drain();
    const term = node.core.status().term;
    const applied = node.cursor.index;
    await node.completePersist();
    expect(node.durable.hardState.term).toBe(term);
    expect(node.durable.lastIndex).toBeGreaterThan(applied);
    // The leader counts itself toward the commit only now; the commit is persisted and applied
    // in the next Ready, after its own fsync.
    expect(node.cursor.index).toBe(applied);
    await node.completePersist();
    expect(node.cursor.index).toBe(node.durable.lastIndex);
    await node.crash();
    await node.start({ id, seed: 1 }, {});
    expect(node.core.status().term).toBe(term);
  });
});
