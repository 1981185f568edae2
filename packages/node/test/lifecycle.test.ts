import type { Storage } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { isRaftNodeError, type RaftNodeError } from '../src/errors.ts';
import { TestCluster, text } from './support/cluster.ts';
import { ControlledStorage } from './support/controlled-storage.ts';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  // Every node cleared its tick timer: nothing would keep a real process alive.
  expect(cluster?.clock.activeTimers ?? 0).toBe(0);
  cluster = null;
});

/** A single-node cluster whose store the test controls. */
async function single(options: Parameters<TestCluster['start']>[1] = {}) {
  cluster = new TestCluster(['solo']);
  let store: ControlledStorage | null = null;
  const node = await cluster.start('solo', {
    ...options,
    wrapStorage: (inner: Storage) => {
      store = new ControlledStorage(inner);
      return store;
    },
  });
  await cluster.until(() => node.status().role === 'leader', 'the single node leads');
  return { cluster, node, store: store as unknown as ControlledStorage };
}

describe('restart', () => {
  it('a node stopped and started again on the same storage recovers its state and catches up', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c']);
    const leader = cluster.leader()!;
    const victim = cluster.followers()[0]!.id;
    await cluster.settle(leader.propose(text('before')));
    await cluster.until(
      () => cluster!.machine(victim).items.length === 1,
      'the victim applied the first write',
    );
    await cluster.stop(victim);

    for (const v of ['while-down-1', 'while-down-2']) await cluster.settle(leader.propose(text(v)));
    const restarted = await cluster.start(victim, { bootstrap: undefined });
    // Replayed from its own log and snapshot before hearing from anyone.
    await cluster.until(
      () => cluster!.machine(victim).items.includes('before'),
      'the restarted node replays its log',
    );
    await cluster.until(() => cluster!.machine(victim).items.length === 3, 'the restarted node catches up');
    expect(cluster.machine(victim).items).toEqual(['before', 'while-down-1', 'while-down-2']);
    expect(restarted.status().members).toHaveLength(3);
    expect(restarted.memberUrl(leader.id)).toBe(TestCluster.url(leader.id));
  });

  it('refuses to start on empty storage without a bootstrap option, and closes the storage', async () => {
    cluster = new TestCluster(['a']);
    await expect(cluster.start('a', { bootstrap: undefined })).rejects.toThrow(RangeError);
    // The store was closed (unlocked): opening it again works.
    await cluster.start('a');
  });
});

describe('stop()', () => {
  it('finishes the Ready in flight, unregisters from the transport, closes storage, and is idempotent', async () => {
    const { cluster, node, store } = await single();
    store.hold();
    const pending = node.propose(text('durable'));
    await cluster.until(() => store.heldSaves === 1, 'the save is in flight');
    const stopping = node.stop();
    expect(node.stop()).toBe(stopping);
    // The Ready in progress is allowed to finish; stop waits for its save.
    store.release();
    await stopping;
    // Its entry became durable, so stop drained the loop: it committed, applied and resolved.
    await expect(pending).resolves.toMatchObject({ result: 1 });
    expect(node.status().state).toBe('stopped');
    expect(cluster.network.handlerOf('default', node.id)).toBeUndefined();
    await expect(node.propose(text('late'))).rejects.toMatchObject({ code: 'Stopped' });
    await expect(node.read('stale')).rejects.toMatchObject({ code: 'Stopped' });
    await expect(store.load()).rejects.toMatchObject({ kind: 'Closed' });
  });

  it('rejects proposals and reads still waiting for a quorum with Stopped', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c']);
    const leader = cluster.leader()!;
    cluster.network.isolate(
      leader.id,
      cluster.followers().map((n) => n.id),
    );
    const pending = leader.propose(text('no-quorum'));
    const read = leader.read('linearizable');
    await cluster.step();
    await leader.stop();
    await expect(pending).rejects.toMatchObject({ code: 'Stopped' });
    await expect(read).rejects.toMatchObject({ code: 'Stopped' });
  });
});

describe('storage failure', () => {
  it('stops the node loudly: fatal event, pending proposals rejected, no more ticks', async () => {
    const { cluster, node, store } = await single();
    await cluster.settle(node.propose(text('ok')));
    const fatal: RaftNodeError[] = [];
    node.on('fatal', ({ error }) => fatal.push(error));
    store.fail();
    const doomed = node.propose(text('doomed'));
    const error = await cluster.settle(doomed).catch((e: unknown) => e);
    expect(isRaftNodeError(error, 'Fatal')).toBe(true);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.code).toBe('Fatal');
    expect(fatal[0]?.cause).toMatchObject({ kind: 'Io' });
    await cluster.until(() => node.status().state === 'stopped', 'the node stopped');
    expect(cluster.clock.activeTimers).toBe(0);
    await expect(node.propose(text('after'))).rejects.toMatchObject({ code: 'Fatal' });
    // Never retried: one failed save, and no save or snapshot attempted since.
    for (let i = 0; i < 20; i++) await cluster.step();
    expect(store.failedWrites).toBe(1);
    await node.stop();
  });

  it('a snapshot that fails to store, off the Ready loop, stops the node just the same', async () => {
    const { cluster, node, store } = await single({ snapshotEvery: { entries: 3 } });
    const fatal: RaftNodeError[] = [];
    node.on('fatal', ({ error }) => fatal.push(error));
    store.holdSnapshots();
    for (const v of ['a', 'b', 'c']) await cluster.settle(node.propose(text(v)));
    await cluster.until(() => store.heldSnapshots === 1, 'a snapshot waits to commit');
    store.fail();
    store.releaseSnapshots();
    await cluster.until(() => node.status().state === 'stopped', 'the node stopped');
    expect(fatal.map((e) => e.cause)).toMatchObject([{ kind: 'Io' }]);
    expect(store.failedWrites).toBe(1);
    await expect(node.propose(text('after'))).rejects.toMatchObject({ code: 'Fatal' });
  });
});

describe('bounded queues and group commit', () => {
  it('rejects proposals with Busy once maxPendingProposals are waiting', async () => {
    const { cluster, node, store } = await single({ maxPendingProposals: 3 });
    store.hold();
    const accepted = [node.propose(text('1')), node.propose(text('2')), node.propose(text('3'))];
    await expect(node.propose(text('4'))).rejects.toMatchObject({ code: 'Busy' });
    store.release();
    const results = await cluster.settle(Promise.all(accepted));
    expect(results.map((r) => r.result)).toEqual([1, 2, 3]);
    // Room again once they applied.
    await cluster.settle(node.propose(text('5')));
  });

  it('rejects reads with Busy once maxPendingReads are waiting', async () => {
    const { cluster, node } = await single({ maxPendingReads: 2 });
    // A single voter confirms reads by itself; hold them by never letting the loop run.
    const reads = [node.read('linearizable'), node.read('linearizable')];
    await expect(node.read('linearizable')).rejects.toMatchObject({ code: 'Busy' });
    await cluster.settle(Promise.all(reads));
  });

  it('gathers every proposal made while a save is in flight into the next single save', async () => {
    const { cluster, node, store } = await single();
    store.hold();
    const first = node.propose(text('first'));
    await cluster.until(() => store.heldSaves === 1, 'the first save is in flight');
    const rest = Array.from({ length: 40 }, (_, i) => node.propose(text(`r${i}`)));
    await cluster.step();
    const savesBefore = store.writes.length;
    store.release();
    await cluster.settle(Promise.all([first, ...rest]));
    const batch = store.writes.slice(savesBefore);
    expect(batch[1]?.entries?.length).toBe(40);
    expect(batch.length).toBeLessThanOrEqual(3);
  });

  it('writes no commit-index-only hard state: it rides along with the next save, and stop() stores it', async () => {
    const { cluster, node, store } = await single();
    const savesBefore = store.writes.length;
    const first = await cluster.settle(node.propose(text('first')));
    await cluster.step();
    // One save for the entry (carrying the no-op's commit from the election); the entry's own
    // commit, a Ready with mustSync false, wrote nothing.
    const saved = store.writes.slice(savesBefore);
    expect(saved.map((w) => w.entries?.map((e) => e.index))).toEqual([[first.index]]);
    expect(saved[0]!.hardState?.commitIndex ?? 0).toBeLessThan(first.index);
    const second = await cluster.settle(node.propose(text('second')));
    const carried = store.writes.at(-1)!;
    expect(carried.entries?.map((e) => e.index)).toEqual([second.index]);
    expect(carried.hardState?.commitIndex).toBe(first.index);
    await cluster.stop('solo');
    expect(store.writes.at(-1)).toEqual({
      hardState: expect.objectContaining({ commitIndex: second.index }),
    });
  });

  it('drops incoming messages beyond the per-tick budget and still makes progress', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c'], { maxIncomingPerTick: 2 });
    const leader = cluster.leader()!;
    const results = await cluster.settle(
      Promise.all(Array.from({ length: 20 }, (_, i) => leader.propose(text(`${i}`)))),
    );
    expect(results).toHaveLength(20);
    const dropped = [...cluster.nodes.values()].reduce((sum, n) => sum + n.metrics().messagesDropped, 0);
    expect(dropped).toBeGreaterThan(0);
  });
});
