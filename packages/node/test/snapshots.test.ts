import { nodeId, type Storage } from '@raftkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { RaftNode } from '../src/raft-node.ts';
import { ListStateMachine, TestCluster, text } from './support/cluster.ts';
import { ControlledStorage } from './support/controlled-storage.ts';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  expect(cluster?.clock.activeTimers ?? 0).toBe(0);
  cluster = null;
});

/**
 * Snapshots as chunks of a capture of the list. Once `hold` is called, every snapshot after it
 * yields its first chunk and waits for `release` to yield the rest.
 */
class ChunkedListStateMachine extends ListStateMachine {
  chunksYielded = 0;
  #held: Promise<void> | null = null;
  release: () => void = () => {};

  hold(): void {
    this.#held = new Promise<void>((resolve) => {
      this.release = resolve;
    });
  }

  override snapshot(): AsyncIterable<Uint8Array> {
    const json = JSON.stringify(this.items);
    const held = this.#held;
    const counted = () => this.chunksYielded++;
    return (async function* () {
      counted();
      yield text(json.slice(0, 1));
      await held;
      counted();
      yield text(json.slice(1));
    })();
  }
}

const writeAll = async (c: TestCluster, values: readonly string[]) => {
  for (const v of values) await c.settle(c.leader()!.propose(text(v)));
};

/** A single leader, snapshotting every 3 entries, over storage that can hold snapshots back. */
async function soloOverControlledStorage(): Promise<{ node: RaftNode; store: ControlledStorage }> {
  cluster = new TestCluster(['solo']);
  let store: ControlledStorage | null = null;
  const node = await cluster.start('solo', {
    snapshotEvery: { entries: 3 },
    wrapStorage: (inner: Storage) => (store = new ControlledStorage(inner)),
  });
  await cluster.until(() => node.status().role === 'leader', 'the single node leads');
  return { node, store: store! };
}

describe('snapshots and compaction', () => {
  it('every node snapshots and compacts every N applied entries, and restarts from its snapshot', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c'], { snapshotEvery: { entries: 5 } });
    const values = Array.from({ length: 12 }, (_, i) => `e${i}`);
    await writeAll(cluster, values);
    await cluster.until(
      () => [...cluster!.nodes.values()].every((n) => n.status().snapshotIndex >= 10),
      'every node compacted twice',
    );
    for (const node of cluster.nodes.values())
      expect(node.metrics().snapshotsTaken).toBeGreaterThanOrEqual(2);

    const victim = cluster.followers()[0]!.id;
    await cluster.stop(victim);
    const restarted = await cluster.start(victim, { bootstrap: undefined });
    // Restored from the snapshot (not replayed from index 1, which is gone), then the log after it.
    expect(restarted.status().snapshotIndex).toBeGreaterThanOrEqual(10);
    await cluster.until(
      () => cluster!.machine(victim).items.length === values.length,
      'the restarted node has every value',
    );
    expect(cluster.machine(victim).items).toEqual(values);
    expect(restarted.memberUrl(cluster.leader()!.id)).toBe(TestCluster.url(cluster.leader()!.id));
  });

  it('applies on while a chunked snapshot serializes, and stores the state as of its capture', async () => {
    cluster = new TestCluster(['solo']);
    const machine = new ChunkedListStateMachine();
    const node = await cluster.start('solo', { snapshotEvery: { entries: 3 }, stateMachine: () => machine });
    await cluster.until(() => node.status().role === 'leader', 'the single node leads');
    machine.hold();
    const before = machine.chunksYielded;
    await writeAll(cluster, ['a', 'b', 'c']);
    await cluster.until(
      () => machine.chunksYielded === before + 1,
      'the snapshot waits for its second chunk',
    );
    const capturedAt = node.status().appliedIndex;
    await writeAll(cluster, ['d', 'e', 'f', 'g']);
    expect(machine.items).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(node.metrics().snapshotsTaken).toBe(0);

    machine.release();
    await cluster.until(() => node.metrics().snapshotsTaken >= 1, 'the snapshot is stored');
    await cluster.until(() => node.status().snapshotIndex >= capturedAt, 'compacted to it');
    // A snapshot holding anything applied after its capture would repeat d to g on restart.
    await cluster.stop('solo');
    const restarted = await cluster.start('solo', { bootstrap: undefined });
    expect(restarted.status().snapshotIndex).toBeGreaterThanOrEqual(capturedAt);
    expect(cluster.machine('solo').items).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('snapshots by applied bytes as well', async () => {
    cluster = await TestCluster.started(['a'], { snapshotEvery: { entries: 1_000, bytes: 100 } });
    await writeAll(cluster, ['x'.repeat(60), 'y'.repeat(60)]);
    await cluster.until(
      () => cluster!.node('a').metrics().snapshotsTaken === 1,
      'one snapshot after 120 bytes',
    );
    await writeAll(cluster, ['z'.repeat(10)]);
    expect(cluster.node('a').metrics().snapshotsTaken).toBe(1);
  });

  it('writes go on while a snapshot is being stored, and the log is compacted once it is', async () => {
    const { node, store } = await soloOverControlledStorage();
    store.holdSnapshots();
    await writeAll(cluster, ['a', 'b', 'c']);
    await cluster.until(() => store.heldSnapshots === 1, 'a snapshot waits to commit');
    const heldAt = node.status().appliedIndex;
    // Not one snapshot per entry while the first is held: at most one is on its way.
    await writeAll(cluster, ['d', 'e', 'f', 'g']);
    expect(cluster.machine('solo').items).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(store.heldSnapshots).toBe(1);
    expect(node.status().snapshotIndex).toBe(0);
    expect(node.metrics().snapshotsTaken).toBe(0);

    store.releaseSnapshots();
    await cluster.until(() => node.metrics().snapshotsTaken === 1, 'the snapshot is stored');
    const stored = store.snapshotMeta()!.index;
    expect(stored).toBeLessThanOrEqual(heldAt);
    await cluster.until(() => node.status().snapshotIndex === stored, 'compacted to the stored snapshot');
    // The entries applied meanwhile are due a snapshot of their own, with no new write to prompt it.
    await cluster.until(() => node.metrics().snapshotsTaken === 2, 'the next snapshot');
    expect(node.status().snapshotIndex).toBe(node.status().appliedIndex);
  });

  it('snapshotNow stores a snapshot at the applied index on demand, and a new one only once more applied', async () => {
    cluster = await TestCluster.started(['a'], { snapshotEvery: { entries: 1_000 } });
    const node = cluster.node('a');
    await writeAll(cluster, ['x', 'y', 'z']);
    const applied = node.status().appliedIndex;
    const meta = await cluster.settle(node.snapshotNow(), 'the snapshot is stored');
    expect(meta.index).toBe(applied);
    expect(node.metrics().snapshotsTaken).toBe(1);
    // Nothing applied since: the stored one is returned, none is taken.
    expect((await cluster.settle(node.snapshotNow())).index).toBe(applied);
    expect(node.metrics().snapshotsTaken).toBe(1);
    await writeAll(cluster, ['w']);
    expect((await cluster.settle(node.snapshotNow())).index).toBe(applied + 1);
    await cluster.until(() => node.status().snapshotIndex === applied + 1, 'compacted to it');
    await cluster.stop('a');
    await expect(node.snapshotNow()).rejects.toMatchObject({ code: 'Stopped' });
  });

  it('snapshotNow waits out a snapshot being stored and takes the next one past what it covers', async () => {
    const { node, store } = await soloOverControlledStorage();
    store.holdSnapshots();
    await writeAll(cluster, ['a', 'b', 'c']);
    await cluster.until(() => store.heldSnapshots === 1, 'a snapshot waits to commit');
    await writeAll(cluster, ['d']);
    const wanted = node.status().appliedIndex;
    let meta: { index: number } | null = null;
    void node.snapshotNow().then((m) => (meta = m));
    await cluster.step();
    expect(meta).toBeNull();
    store.releaseSnapshots();
    await cluster.until(() => meta !== null, 'snapshotNow resolves');
    expect(meta!.index).toBe(wanted);
    expect(store.snapshotMeta()!.index).toBe(wanted);
    expect(node.metrics().snapshotsTaken).toBe(2);
  });

  it('a node cut off past the compacted log is restored from a streamed snapshot and converges', async () => {
    cluster = await TestCluster.started(['a', 'b', 'c'], { snapshotEvery: { entries: 4 } });
    const lagging = cluster.followers()[0]!.id;
    const others = [...cluster.nodes.keys()].filter((id) => id !== lagging);
    cluster.network.isolate(lagging, others);
    const values = Array.from({ length: 15 }, (_, i) => `v${i}`);
    await writeAll(cluster, values);
    const leader = cluster.leader()!;
    await cluster.until(
      () => leader.status().snapshotIndex > 8,
      'the leader compacted past the lagging node',
    );

    cluster.network.healAll();
    await cluster.until(
      () => cluster!.machine(lagging).items.length === values.length,
      'the lagging node converges',
    );
    expect(cluster.machine(lagging).items).toEqual(values);
    const node = cluster.node(lagging);
    expect(node.metrics().snapshotsRestored).toBeGreaterThanOrEqual(1);
    expect(node.metrics().snapshotsReceived).toBeGreaterThanOrEqual(1);
    expect(cluster.leader()!.metrics().snapshotsSent).toBeGreaterThanOrEqual(1);
    // Member URLs came with the snapshot envelope.
    for (const id of others) expect(node.memberUrl(nodeId(id))).toBe(TestCluster.url(id));
    // And it keeps replicating normally afterwards.
    await writeAll(cluster, ['after']);
    await cluster.until(
      () => cluster!.machine(lagging).items.at(-1) === 'after',
      'the lagging node gets new writes',
    );
  });
});
